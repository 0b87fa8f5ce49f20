import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';

import { RuntimeApiClient, RuntimeApiError, type RuntimeApi, type RuntimeCommand } from '../../daemon/src/proxy/runtime-api.js';
import {
  createIngressFixture,
  createTestCa,
  httpGet,
  httpsGet,
  issueCertificate,
  negotiateAlpn,
  startTarget,
  type IngressFixture,
  type Target,
  type TestCa,
} from './fixtures.js';

let ca: TestCa;
let blue: Target;
let green: Target;

before(async () => {
  ca = await createTestCa();
  blue = await startTarget('127.0.0.1', 'blue target');
  green = await startTarget('127.0.0.2', 'green target');
});

after(async () => {
  await blue.close();
  await green.close();
});

/** Runs `body` with a fresh ingress and checks afterwards that none of its HAProxy processes runs. */
async function withIngress(
  _t: TestContext,
  body: (fixture: IngressFixture) => Promise<void>,
  fixture?: IngressFixture,
): Promise<void> {
  const current = fixture ?? (await createIngressFixture());
  try {
    await body(current);
  } finally {
    const running = await current.cleanup();
    assert.deepEqual(running, [], `HAProxy processes still running after the test: ${running.join(', ')}`);
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function elapsed(startedAt: bigint): number {
  return Number(process.hrtime.bigint() - startedAt) / 1e6;
}

describe('HaproxyIngress', () => {
  it('serves a route added at runtime', async (t) => {
    await withIngress(t, async (fixture) => {
      let startedAt = process.hrtime.bigint();
      await fixture.start();
      t.diagnostic(`start: ${elapsed(startedAt).toFixed(1)} ms (first start includes the fallback certificate)`);
      const workerBefore = fixture.ingress.workerPids[0];

      const certificate = await issueCertificate(ca, ['app.test']);
      startedAt = process.hrtime.bigint();
      await fixture.ingress.setCertificate('app.test', certificate.chainPem, certificate.keyPem);
      t.diagnostic(`certificate add: ${elapsed(startedAt).toFixed(1)} ms`);

      startedAt = process.hrtime.bigint();
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      t.diagnostic(`route add: ${elapsed(startedAt).toFixed(1)} ms`);

      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });
      assert.equal(response.status, 200);
      assert.equal(response.body, 'blue target');
      assert.equal(response.serial, certificate.serial);
      assert.equal(fixture.ingress.workerPids[0], workerBefore, 'no reload happened');
      assert.equal(await negotiateAlpn(fixture.httpsPort, 'app.test', ['h2', 'http/1.1']), 'h2');
    });
  });

  it('journals runtime route changes', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const routesFile = join(fixture.configDir, 'routes.json');
      const journalFile = join(fixture.configDir, 'routes.journal');
      for (let index = 0; index < 5; index += 1) {
        await fixture.ingress.setRoute({ hostname: `j${index}.test`, targets: [{ address: blue.address, port: blue.port }] });
      }
      await fixture.ingress.removeRoute('j4.test');
      assert.equal((await httpsGet({ port: fixture.httpsPort, hostname: 'j3.test' })).status, 200);
      assert.doesNotMatch(await readFile(routesFile, 'utf8'), /j0\.test/);
      assert.equal((await readFile(journalFile, 'utf8')).trim().split('\n').length, 6);

      const deadline = Date.now() + 5_000;
      while ((await stat(journalFile).catch(() => null)) !== null && Date.now() < deadline) await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      assert.equal(await stat(journalFile).catch(() => null), null, 'the journal is removed after the files are written');
      const routes = await readFile(routesFile, 'utf8');
      for (let index = 0; index < 4; index += 1) assert.match(routes, new RegExp(`j${index}\\.test`));
      assert.doesNotMatch(routes, /j4\.test/);
    });
  });

  it('redirects http to https', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });

      const known = await httpGet(fixture.httpPort, `APP.test:${fixture.httpPort}`, '/some/path?a=1&b=2');
      assert.equal(known.status, 301);
      assert.equal(known.headers.location, `https://app.test:${fixture.httpsPort}/some/path?a=1&b=2`);

      const unknown = await httpGet(fixture.httpPort, 'evil.test', '/x');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers.location, undefined);
    });
  });

  it('answers unknown hosts with a bare 404', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });

      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'unknown.test' });
      assert.equal(response.status, 404);
      assert.equal(response.body, 'Not found');
      assert.equal(response.subjectCn, 'invalid');
      assert.equal(response.headers.server, undefined);
      const unexpected = Object.keys(response.headers).filter(
        (name) => !['connection', 'content-length', 'content-type'].includes(name),
      );
      assert.deepEqual(unexpected, []);
    });
  });

  it('routes by host to each target', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const certificate = await issueCertificate(ca, ['blue.test', 'green.test']);
      await fixture.ingress.setCertificate('blue.test', certificate.chainPem, certificate.keyPem);
      await fixture.ingress.setRoute({ hostname: 'blue.test', targets: [{ address: blue.address, port: blue.port }] });
      await fixture.ingress.setRoute({ hostname: 'green.test', targets: [{ address: green.address, port: green.port }] });

      const first = await httpsGet({ port: fixture.httpsPort, hostname: 'blue.test', ca: ca.pem });
      const second = await httpsGet({ port: fixture.httpsPort, hostname: 'green.test', ca: ca.pem });
      assert.equal(first.body, 'blue target');
      assert.equal(second.body, 'green target');
    });
  });

  it('changes and removes a route', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: green.address, port: green.port }] });
      const moved = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
      assert.equal(moved.body, 'green target');
      const routes = await fixture.ingress.listRoutes();
      assert.deepEqual(routes.map((route) => route.hostname), ['app.test']);
      assert.deepEqual(routes[0]?.targets, [{ address: green.address, port: green.port }]);

      await fixture.ingress.removeRoute('app.test');
      const removed = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
      assert.equal(removed.status, 404);
      assert.deepEqual(await fixture.ingress.listRoutes(), []);
      await fixture.ingress.removeRoute('app.test');
    });
  });

  it('replaces a certificate without restart', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const pid = fixture.ingress.pid;
      const worker = fixture.ingress.workerPids[0];
      const first = await issueCertificate(ca, ['app.test']);
      const second = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      await fixture.ingress.setCertificate('app.test', first.chainPem, first.keyPem);
      const before = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });

      const startedAt = process.hrtime.bigint();
      await fixture.ingress.setCertificate('app.test', second.chainPem, second.keyPem);
      t.diagnostic(`certificate replace: ${elapsed(startedAt).toFixed(1)} ms`);
      const afterReplace = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });

      assert.equal(before.serial, first.serial);
      assert.equal(afterReplace.serial, second.serial);
      assert.equal(fixture.ingress.pid, pid);
      assert.equal(fixture.ingress.workerPids[0], worker);
      const crtList = await readFile(join(fixture.configDir, 'crt-list'), 'utf8');
      assert.equal(crtList.split('\n').filter((line) => line.endsWith('/app.test.pem')).length, 1);
    });
  });

  it('removes a certificate', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const certificate = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      await fixture.ingress.setCertificate('app.test', certificate.chainPem, certificate.keyPem);
      assert.deepEqual(await fixture.ingress.listCertificates(), ['app.test']);

      await fixture.ingress.removeCertificate('app.test');
      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
      assert.equal(response.subjectCn, 'invalid');
      assert.deepEqual(await fixture.ingress.listCertificates(), []);
      assert.deepEqual(await readdir(join(fixture.configDir, 'certs')), []);
      await fixture.ingress.removeCertificate('app.test');
    });
  });

  it('serves a wildcard certificate', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const certificate = await issueCertificate(ca, ['*.wild.test']);
      await fixture.ingress.setCertificate('*.wild.test', certificate.chainPem, certificate.keyPem);
      await fixture.ingress.setRoute({ hostname: 'a.wild.test', targets: [{ address: blue.address, port: blue.port }] });

      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'a.wild.test', ca: ca.pem });
      assert.equal(response.serial, certificate.serial);
      assert.deepEqual(await readdir(join(fixture.configDir, 'certs')), ['_wildcard.wild.test.pem']);
      assert.deepEqual(await fixture.ingress.listCertificates(), ['*.wild.test']);
    });
  });

  it('serves the files after a restart', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const certificate = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setCertificate('app.test', certificate.chainPem, certificate.keyPem);
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: green.address, port: green.port }] });
      const firstPid = fixture.ingress.pid;
      await fixture.ingress.stop();
      assert.equal(fixture.ingress.pid, undefined);

      const restarted = fixture.recreate();
      const startedAt = process.hrtime.bigint();
      await fixture.start(restarted);
      t.diagnostic(`restart with 1 route and 1 certificate: ${elapsed(startedAt).toFixed(1)} ms`);
      assert.notEqual(restarted.pid, firstPid);

      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });
      assert.equal(response.body, 'green target');
      assert.equal(response.serial, certificate.serial);
      assert.deepEqual(await restarted.listCertificates(), ['app.test']);
    });
  });

  it('stores changes while stopped', async (t) => {
    await withIngress(t, async (fixture) => {
      const certificate = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setCertificate('app.test', certificate.chainPem, certificate.keyPem);
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      await fixture.start();

      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });
      assert.equal(response.body, 'blue target');
      assert.equal(response.serial, certificate.serial);
    });
  });

  it('recovers after a crash', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const master = fixture.ingress.pid;
      assert.ok(master !== undefined);
      process.kill(master, 'SIGKILL');
      await waitUntil(() => fixture.ingress.pid === undefined);

      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      assert.ok(fixture.records.some((record) => record.msg === 'haproxy exited unexpectedly'));
      assert.ok(fixture.records.some((record) => record.msg === 'change stored; proxy not running'));

      await fixture.start();
      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
      assert.equal(response.body, 'blue target');
    });
  });

  it('writes private files', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const certificate = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setCertificate('app.test', certificate.chainPem, certificate.keyPem);

      assert.equal((await stat(fixture.configDir)).mode & 0o777, 0o700);
      assert.equal((await stat(fixture.runDir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(fixture.configDir, 'certs', 'app.test.pem'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(fixture.runDir, 'admin.sock'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(fixture.runDir, 'master.sock'))).mode & 0o777, 0o600);
    });
  });

  it('rejects a certificate HAProxy cannot load', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const good = await issueCertificate(ca, ['app.test']);
      await fixture.ingress.setCertificate('app.test', good.chainPem, good.keyPem);
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      const crtListBefore = await readFile(join(fixture.configDir, 'crt-list'), 'utf8');
      const worker = fixture.ingress.workerPids[0];

      // OpenSSL 3 at Debian's default security level 2 refuses RSA keys below 2048 bits.
      const weak = await issueCertificate(ca, ['weak.test'], 1024);
      await assert.rejects(fixture.ingress.setCertificate('weak.test', weak.chainPem, weak.keyPem), /weak\.test\.pem/);

      assert.ok(fixture.records.some((record) => record.msg === 'change rejected; files restored'));
      assert.equal(await readFile(join(fixture.configDir, 'crt-list'), 'utf8'), crtListBefore);
      assert.deepEqual(await readdir(join(fixture.configDir, 'certs')), ['app.test.pem']);
      assert.equal(fixture.ingress.workerPids[0], worker);
      const admin = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
      const loaded = await admin.execute({ command: 'show ssl cert' });
      assert.doesNotMatch(loaded, /weak\.test\.pem/);
      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test', ca: ca.pem });
      assert.equal(response.status, 200);
      assert.equal(response.serial, good.serial);
    });
  });

  it('reloads when the runtime api fails', async (t) => {
    const failing = new FailingRuntimeApi();
    const fixture = await createIngressFixture({ runtimeApi: failing });
    failing.inner = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    await withIngress(
      t,
      async () => {
        await fixture.start();
        const worker = fixture.ingress.workerPids[0];
        failing.failPattern = /^(set|add) map /;

        const startedAt = process.hrtime.bigint();
        await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
        t.diagnostic(`route add through the reload fallback: ${elapsed(startedAt).toFixed(1)} ms`);
        fixture.rememberPids();

        const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
        assert.equal(response.body, 'blue target');
        assert.notEqual(fixture.ingress.workerPids[0], worker);
        assert.ok(fixture.records.some((record) => record.msg === 'proxy reloaded'));
      },
      fixture,
    );
  });

  it('shares one show stat', async (t) => {
    const recording = new FailingRuntimeApi();
    const fixture = await createIngressFixture({ runtimeApi: recording });
    recording.inner = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    await withIngress(
      t,
      async () => {
        await fixture.start();
        await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
        recording.commands.length = 0;
        const answers = await Promise.all(Array.from({ length: 20 }, () => fixture.ingress.routeStatus()));
        assert.equal(recording.commands.filter((command) => command === 'show stat').length, 1);
        for (const answer of answers) assert.deepEqual(answer.map((route) => route.hostname), ['app.test']);
        await fixture.ingress.routeStatus();
        assert.equal(recording.commands.filter((command) => command === 'show stat').length, 2, 'a later call asks again');
        const aborted = new AbortController();
        aborted.abort(new Error('caller gone'));
        await assert.rejects(fixture.ingress.routeStatus(aborted.signal), /caller gone/);
      },
      fixture,
    );
  });

  it('restores files on abort', async (t) => {
    const aborting = new FailingRuntimeApi();
    const fixture = await createIngressFixture({ runtimeApi: aborting });
    aborting.inner = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    await withIngress(
      t,
      async () => {
        await fixture.start();
        const controller = new AbortController();
        aborting.beforeCommand = (command) => {
          if (command.startsWith('set map ')) controller.abort(new Error('caller gave up'));
        };

        const route = { hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] };
        await assert.rejects(fixture.ingress.setRoute(route, controller.signal), /caller gave up/);
        assert.deepEqual(await fixture.ingress.listRoutes(), []);

        aborting.beforeCommand = undefined;
        await fixture.ingress.setRoute(route);
        const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
        assert.equal(response.body, 'blue target');
      },
      fixture,
    );
  });

  it('keeps running when a reload check fails', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      await fixture.ingress.setRoute({ hostname: 'app.test', targets: [{ address: blue.address, port: blue.port }] });
      const worker = fixture.ingress.workerPids[0];
      const crtList = join(fixture.configDir, 'crt-list');
      const original = await readFile(crtList, 'utf8');
      await writeFile(crtList, `${original}${join(fixture.configDir, 'certs', 'missing.test.pem')}\n`);

      await assert.rejects(fixture.ingress.reload(), /configuration check failed.*missing\.test\.pem/);
      assert.equal(fixture.ingress.workerPids[0], worker);
      const response = await httpsGet({ port: fixture.httpsPort, hostname: 'app.test' });
      assert.equal(response.body, 'blue target');

      await writeFile(crtList, original);
      const startedAt = process.hrtime.bigint();
      await fixture.ingress.reload();
      t.diagnostic(`reload: ${elapsed(startedAt).toFixed(1)} ms`);
      fixture.rememberPids();
      assert.notEqual(fixture.ingress.workerPids[0], worker);
    });
  });

  it('serialises concurrent changes', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const hostnames = Array.from({ length: 20 }, (_, index) => `host${index}.test`);
      const startedAt = process.hrtime.bigint();
      await Promise.all(
        hostnames.map((hostname) => fixture.ingress.setRoute({ hostname, targets: [{ address: blue.address, port: blue.port }] })),
      );
      t.diagnostic(`20 concurrent route adds: ${elapsed(startedAt).toFixed(1)} ms`);

      assert.equal((await fixture.ingress.listRoutes()).length, 20);
      const last = await httpsGet({ port: fixture.httpsPort, hostname: 'host19.test' });
      assert.equal(last.body, 'blue target');
    });
  });

  it('refuses a second haproxy on the same run directory', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      const second = fixture.recreate();
      await assert.rejects(second.start(), /another HAProxy already responds/);
      assert.equal(second.pid, undefined);
    });
  });

  it('logs start and stop', async (t) => {
    await withIngress(t, async (fixture) => {
      await fixture.start();
      await fixture.ingress.stop();
      const started = fixture.records.find((record) => record.msg === 'proxy started');
      const stopped = fixture.records.find((record) => record.msg === 'proxy stopped');
      assert.equal(started?.subsystem, 'proxy');
      assert.equal(typeof started?.duration_ms, 'number');
      assert.equal(typeof stopped?.haproxy_pid, 'number');
    });
  });
});

describe('HaproxyIngress input checks', () => {
  const badNames = [
    'app test',
    'app.test\nshow info',
    'app.test#x',
    'app.test"',
    "app.test'",
    'app\\.test',
    'app.test;del map x',
    '../app.test',
    'a/b.test',
    'app.test\0',
    'APP.test',
    'app.test.',
    '',
  ];

  it('rejects names before any file or command', async (t) => {
    const recording = new FailingRuntimeApi();
    const fixture = await createIngressFixture({ runtimeApi: recording });
    recording.inner = new RuntimeApiClient(join(fixture.runDir, 'admin.sock'));
    await withIngress(
      t,
      async () => {
        await fixture.start();
        const certificate = await issueCertificate(ca, ['app.test']);
        const filesBefore = await snapshotFiles(fixture.configDir);
        recording.commands.length = 0;

        for (const name of badNames) {
          const target = { address: '127.0.0.1', port: blue.port };
          await assert.rejects(fixture.ingress.setRoute({ hostname: name, targets: [target] }), /invalid host name/, JSON.stringify(name));
          await assert.rejects(fixture.ingress.removeRoute(name), /invalid host name/, JSON.stringify(name));
          await assert.rejects(
            fixture.ingress.setCertificate(name, certificate.chainPem, certificate.keyPem),
            /invalid certificate id/,
            JSON.stringify(name),
          );
          await assert.rejects(fixture.ingress.removeCertificate(name), /invalid certificate id/, JSON.stringify(name));
          await assert.rejects(
            fixture.ingress.setRoute({ hostname: 'ok.test', targets: [{ address: name, port: 80 }] }),
            /invalid target address/,
            JSON.stringify(name),
          );
        }
        for (const port of [0, 65536, 1.5, Number.NaN]) {
          await assert.rejects(
            fixture.ingress.setRoute({ hostname: 'ok.test', targets: [{ address: '127.0.0.1', port }] }),
            /invalid target port/,
          );
        }

        assert.deepEqual(recording.commands, []);
        assert.deepEqual(await snapshotFiles(fixture.configDir), filesBefore);
      },
      fixture,
    );
  });

  it('rejects a key that does not match', async (t) => {
    await withIngress(t, async (fixture) => {
      const first = await issueCertificate(ca, ['app.test']);
      const second = await issueCertificate(ca, ['app.test']);
      await assert.rejects(fixture.ingress.setCertificate('app.test', first.chainPem, second.keyPem), /does not match/);
      assert.deepEqual(await fixture.ingress.listCertificates(), []);
    });
  });
});

/** Passes commands to `inner`, records them, and fails those that match `failPattern`. */
class FailingRuntimeApi implements RuntimeApi {
  inner: RuntimeApi | undefined;
  failPattern: RegExp | undefined;
  beforeCommand: ((command: string) => void) | undefined;
  readonly commands: string[] = [];

  get socketPath(): string {
    return this.inner?.socketPath ?? '';
  }

  async execute(command: RuntimeCommand, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string> {
    if (this.inner === undefined) throw new Error('FailingRuntimeApi used before inner was set');
    if (command.command !== 'show info') this.commands.push(command.command);
    this.beforeCommand?.(command.command);
    options?.signal?.throwIfAborted();
    if (this.failPattern?.test(command.command) === true) {
      throw new RuntimeApiError(`simulated failure of "${command.command}"`, command.command, '', 'connection');
    }
    return this.inner.execute(command, options);
  }

  async executeAll(commands: readonly RuntimeCommand[]): Promise<string[]> {
    const outputs: string[] = [];
    for (const command of commands) outputs.push(await this.execute(command));
    return outputs;
  }
}

async function snapshotFiles(directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path] = await readFile(path, 'utf8');
  }
  return files;
}
