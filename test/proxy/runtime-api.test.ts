import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { RuntimeApiClient, RuntimeApiError, findRuntimeError } from '../../daemon/src/proxy/runtime-api.js';
import { createIngressFixture, type IngressFixture } from './fixtures.js';

describe('RuntimeApiClient on haproxy', () => {
  let fixture: IngressFixture;
  let client: RuntimeApiClient;
  let mapFile: string;

  before(async () => {
    fixture = await createIngressFixture();
    await fixture.start();
    client = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    mapFile = fixture.ingress.files.mapFile;
  });

  after(async () => {
    const running = await fixture.cleanup();
    assert.deepEqual(running, [], `HAProxy processes still running: ${running.join(', ')}`);
  });

  it('lists maps', async () => {
    const output = await client.execute({ command: 'show map' });
    assert.ok(output.includes(`(${mapFile})`), output);
  });

  it('shows map entries', async () => {
    await fixture.ingress.setRoute({ hostname: 'error.test', targets: [{ address: '127.0.0.1', port: 8080 }] });
    const output = await client.execute({ command: `show map ${mapFile}` });
    assert.match(output, /^0x[0-9a-f]+ error\.test be_slot_0$/m);
  });

  it('throws on an unknown command', async () => {
    const error = await client.execute({ command: 'no such command' }).catch((err: unknown) => err);
    assert.ok(error instanceof RuntimeApiError);
    assert.equal(error.failure, 'rejected');
    assert.equal(error.command, 'no such command');
    assert.match(error.response, /Unknown command/);
    assert.match(error.message, /no such command/);
  });

  it('throws on a missing entry', async () => {
    await assert.rejects(client.execute({ command: `del map ${mapFile} absent.test` }), /Key not found/);
  });

  it('throws on an unexpected output', async () => {
    await assert.rejects(client.execute({ command: 'show info', expect: /^Success!/ }), /unexpected output/);
  });

  it('runs commands in order', async () => {
    const outputs = await client.executeAll([
      { command: `add map ${mapFile} batch.test 80:127.0.0.1` },
      { command: `show map ${mapFile}` },
    ]);
    assert.equal(outputs.length, 2);
    assert.match(outputs[1] ?? '', /batch\.test 80:127\.0\.0\.1/);
  });

  it('reports a connection failure', async () => {
    const missing = new RuntimeApiClient(join(fixture.runDir, 'missing.sock'));
    const error = await missing.execute({ command: 'show info' }).catch((err: unknown) => err);
    assert.ok(error instanceof RuntimeApiError);
    assert.equal(error.failure, 'connection');
    assert.match(error.message, /ENOENT/);
  });
});

describe('RuntimeApiClient limits', () => {
  let base: string;
  let silent: Server;
  let socketPath: string;
  const connections = new Set<Socket>();

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'pxy-api-'));
    socketPath = join(base, 'silent.sock');
    // Accepts connections and never responds, like a stuck HAProxy.
    silent = createServer((socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
  });

  after(async () => {
    for (const socket of connections) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(base, { recursive: true, force: true });
  });

  it('times out', async () => {
    const client = new RuntimeApiClient(socketPath, { timeoutMs: 100 });
    const error = await client.execute({ command: 'show info' }).catch((err: unknown) => err);
    assert.ok(error instanceof RuntimeApiError);
    assert.equal(error.failure, 'timeout');
  });

  it('stops on abort', async () => {
    const client = new RuntimeApiClient(socketPath, { timeoutMs: 5000 });
    const controller = new AbortController();
    const pending = client.execute({ command: 'show info' }, { signal: controller.signal });
    controller.abort(new Error('test abort'));
    await assert.rejects(pending, /test abort/);
  });

  it('rejects a second command', async () => {
    const client = new RuntimeApiClient(socketPath);
    await assert.rejects(client.execute({ command: 'show info; del map x y' }), /invalid runtime API command/);
    await assert.rejects(client.execute({ command: 'show info\ndel map x y' }), /invalid runtime API command/);
  });

  it('rejects an empty payload line', async () => {
    const client = new RuntimeApiClient(socketPath);
    await assert.rejects(
      client.execute({ command: 'set ssl cert /x.pem', payload: 'line one\n\nshow info\n' }),
      /must not contain empty lines/,
    );
  });
});

describe('findRuntimeError', () => {
  const errors = [
    'Unknown command, but maybe one of the following ones is a better match:',
    "Can't delete the entry: certificate '/x.pem' does not exist!",
    'entry not found.',
    'Key not found.',
    "Certificate '/x.pem' already exists!",
    'No ongoing transaction! !',
  ];
  for (const output of errors) {
    it(`detects ${JSON.stringify(output.slice(0, 30))}`, () => {
      assert.equal(findRuntimeError(`${output}\n\n`), output);
    });
  }

  it('ignores field names in show output', () => {
    assert.equal(findRuntimeError('Name: HAProxy\nFailedResolutions: 0\n'), undefined);
  });

  it('ignores success', () => {
    assert.equal(findRuntimeError("Inserting certificate '/x.pem' in crt-list '/l'.\nSuccess!\n"), undefined);
  });
});
