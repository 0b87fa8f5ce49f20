import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';

import type { StreamService } from '../../daemon/src/proxy/stream-services.js';
import { createIngressFixture, createTestCa, httpsGet, issueCertificate, startTarget, type IngressFixture, type Target, type TestCa } from '../proxy/fixtures.js';
import { findFreePort } from '../sandbox/ports.js';

/** TCP services through a real HAProxy 2.6 on loopback: plain, TLS-terminated, removal, restart. */

interface EchoServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** A TCP server that replies to every chunk with `<name>:<chunk>`. */
async function startEchoServer(address: string, name: string): Promise<EchoServer> {
  const port = await findFreePort(address);
  const server: Server = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => socket.write(`${name}:${chunk.toString('utf8')}`));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, resolve);
  });
  return { address, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Sends `message` over plain TCP and returns the first reply. */
function exchangePlain(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer on port ${port} within 5 s`)));
    socket.once('connect', () => socket.write(message));
    socket.once('data', (chunk: Buffer) => {
      socket.end();
      resolve(chunk.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

interface TlsAnswer {
  answer: string;
  subjectCn: string | undefined;
}

/** Sends `message` over TLS (with SNI `servername` unless undefined) and returns the reply and the certificate's CN. */
function exchangeTls(port: number, message: string, ca: string, servername: string | undefined, verifyName: string): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      ...(servername === undefined ? {} : { servername }),
      checkServerIdentity: (_host, certificate) => (certificate.subject.CN === verifyName ? undefined : new Error(`unexpected certificate ${String(certificate.subject.CN)}`)),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no TLS answer on port ${port} within 5 s`)));
    socket.once('secureConnect', () => socket.write(message));
    socket.once('data', (chunk: Buffer) => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve({ answer: chunk.toString('utf8'), subjectCn: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined });
    });
    socket.once('error', reject);
  });
}

function connectionError(port: number): Promise<string> {
  return exchangePlain(port, 'x').then(
    () => 'connected',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
}

let fixture: IngressFixture;
let database: EchoServer;
let broker: EchoServer;
let web: Target;
let ca: TestCa;
let plainPort: number;
let tlsPort: number;

before(async () => {
  database = await startEchoServer('127.0.0.11', 'database');
  broker = await startEchoServer('127.0.0.12', 'broker');
  web = await startTarget('127.0.0.13', 'web page');
  ca = await createTestCa();
  plainPort = await findFreePort();
  tlsPort = await findFreePort();
  fixture = await createIngressFixture();
  await fixture.start();
});

after(async () => {
  const running = await fixture.cleanup();
  await database.close();
  await broker.close();
  await web.close();
  assert.deepEqual(running, []);
});

function stream(name: string, externalPort: number, target: EchoServer, tlsCertificate: string | null = null): StreamService {
  return { name, externalPort, targets: [{ address: target.address, port: target.port }], tlsCertificate, maintenance: false };
}

describe('tcp services on haproxy', () => {
  it('forwards plain tcp', async () => {
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.setStreamService(stream('db.test', plainPort, database));
    fixture.rememberPids();
    assert.equal(await exchangePlain(plainPort, 'ping'), 'database:ping');
    // A new bind needs a reload, so a new worker serves.
    assert.notEqual(fixture.ingress.workerPids[0], worker);
  });

  it('terminates tls with the certificate', async () => {
    const issued = await issueCertificate(ca, ['mqtt.test']);
    await fixture.ingress.setCertificate('mqtt.test', issued.chainPem, issued.keyPem);
    await fixture.ingress.setStreamService(stream('mqtt.test', tlsPort, broker, 'mqtt.test'));
    fixture.rememberPids();
    const withSni = await exchangeTls(tlsPort, 'hello', ca.pem, 'mqtt.test', 'mqtt.test');
    assert.equal(withSni.answer, 'broker:hello');
    assert.equal(withSni.subjectCn, 'mqtt.test');
  });

  it('serves the certificate without sni', async () => {
    const withoutSni = await exchangeTls(tlsPort, 'bare', ca.pem, undefined, 'mqtt.test');
    assert.equal(withoutSni.answer, 'broker:bare');
    assert.equal(withoutSni.subjectCn, 'mqtt.test');
  });

  it('passes the check without warnings', () => {
    const check = spawnSync('/usr/sbin/haproxy', ['-c', '-f', fixture.ingress.files.configFile], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(check.status, 0, check.stderr);
    assert.doesNotMatch(`${check.stdout}${check.stderr}`, /WARNING/);
  });

  it('keeps http routes after reloads', async () => {
    const issued = await issueCertificate(ca, ['web.test']);
    await fixture.ingress.setCertificate('web.test', issued.chainPem, issued.keyPem);
    await fixture.ingress.setRoute({ hostname: 'web.test', targets: [{ address: web.address, port: web.port }] });
    const response = await httpsGet({ port: fixture.httpsPort, hostname: 'web.test', ca: ca.pem });
    assert.equal(response.status, 200);
    assert.equal(response.body, 'web page');
    assert.equal(await exchangePlain(plainPort, 'still'), 'database:still');
  });

  it('rejects a taken external port', async () => {
    await assert.rejects(fixture.ingress.setStreamService(stream('other.test', plainPort, broker)), /external port \d+ is already used by the TCP service db\.test/);
  });

  it('moves a service to a new target', async () => {
    await fixture.ingress.setStreamService(stream('db.test', plainPort, broker));
    fixture.rememberPids();
    assert.equal(await exchangePlain(plainPort, 'moved'), 'broker:moved');
  });

  it('leaves an unchanged service alone', async () => {
    const worker = fixture.ingress.workerPids[0];
    await fixture.ingress.setStreamService(stream('db.test', plainPort, broker));
    assert.equal(fixture.ingress.workerPids[0], worker);
  });

  it('keeps services across a restart', async () => {
    await fixture.ingress.stop();
    const restarted = fixture.recreate();
    await fixture.start(restarted);
    fixture.ingress = restarted;
    const names = (await restarted.listStreamServices()).map((item) => item.name);
    assert.deepEqual(names, plainPort < tlsPort ? ['db.test', 'mqtt.test'] : ['mqtt.test', 'db.test']);
    assert.equal(await exchangePlain(plainPort, 'again'), 'broker:again');
  });

  it('closes the port on removal', async () => {
    await fixture.ingress.removeStreamService('db.test');
    fixture.rememberPids();
    assert.equal(await connectionError(plainPort), 'ECONNREFUSED');
    assert.equal((await exchangeTls(tlsPort, 'left', ca.pem, 'mqtt.test', 'mqtt.test')).answer, 'broker:left');
  });
});
