import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { createIngressFixture, httpsGet, processIsRunning, startTarget, type IngressFixture, type Target } from './fixtures.js';

/**
 * A daemon killed with SIGKILL leaves its HAProxy master running. The next start stops that
 * master by the PID in the pid file when it runs our configuration file, and still refuses an
 * HAProxy that is not ours.
 */

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const childScript = join(repositoryRoot, 'test', 'proxy', 'ingress-child.ts');

interface ChildReport {
  pid: number;
  workers: number[];
}

/** Starts the stand-in daemon and resolves with its first report line. */
function startChild(fixture: IngressFixture, target: Target): Promise<{ child: ChildProcess; report: ChildReport }> {
  const settings = {
    configDir: fixture.configDir,
    runDir: fixture.runDir,
    httpPort: fixture.httpPort,
    httpsPort: fixture.httpsPort,
    target: { address: target.address, port: target.port },
    churnCount: 2000,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(settings)], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolveReport, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stand-in daemon reported nothing within 30 s: ${stderr}`)), 30_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolveReport({ child, report: JSON.parse(line) as ChildReport });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the stand-in daemon exited with code ${String(code)} before it reported: ${stderr}`));
    });
  });
}

function killAndWait(child: ChildProcess): Promise<void> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit();
      return;
    }
    child.once('exit', () => resolveExit());
    child.kill('SIGKILL');
  });
}

describe('haproxy left by a killed daemon', () => {
  let fixture: IngressFixture;
  let target: Target;
  let leftover: ChildReport;

  before(async () => {
    target = await startTarget('127.0.0.61', 'kept target');
    fixture = await createIngressFixture();
    const { child, report } = await startChild(fixture, target);
    leftover = report;
    // Killed while it is changing routes.
    await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    await killAndWait(child);
  });

  after(async () => {
    const running = await fixture?.cleanup();
    await target?.close();
    assert.deepEqual(running, []);
  });

  it('leaves the master running', async () => {
    assert.equal(await processIsRunning(leftover.pid), true);
  });

  it('replaces it on start', async () => {
    await fixture.start();
    assert.notEqual(fixture.ingress.pid, undefined);
    assert.notEqual(fixture.ingress.pid, leftover.pid);
    assert.equal(await processIsRunning(leftover.pid), false);
    for (const worker of leftover.workers) assert.equal(await processIsRunning(worker), false, `worker ${worker}`);
  });

  it('logs the replacement', () => {
    const record = fixture.records.find((item) => item.msg === 'stopped the haproxy left running by an earlier daemon; starting a new one');
    assert.ok(record !== undefined, 'no log record of the replacement');
    assert.equal(record['haproxy_pid'], leftover.pid);
  });

  it('serves the kept route', async () => {
    const response = await httpsGet({ port: fixture.httpsPort, hostname: 'kept.test' });
    assert.equal(response.status, 200);
    assert.equal(response.body, 'kept target');
  });

  it('refuses a foreign haproxy', async () => {
    // Same run directory, other configuration file: its HAProxy is not ours to stop.
    const foreign = await createIngressFixture({}, { runDir: fixture.runDir });
    try {
      await assert.rejects(foreign.start(), /another HAProxy already responds/);
      assert.equal(await processIsRunning(fixture.ingress.pid ?? 0), true);
    } finally {
      assert.deepEqual(await foreign.cleanup(), []);
    }
  });
});

describe('stale haproxy pid file', () => {
  it('never signals another program', async () => {
    const fixture = await createIngressFixture();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await mkdir(dirname(fixture.ingress.files.pidFile), { recursive: true, mode: 0o700 });
      await writeFile(fixture.ingress.files.pidFile, `${sleeper.pid ?? 0}\n`);
      await fixture.start();
      assert.equal(await processIsRunning(sleeper.pid ?? 0), true);
    } finally {
      await killAndWait(sleeper);
      assert.deepEqual(await fixture.cleanup(), []);
    }
  });
});
