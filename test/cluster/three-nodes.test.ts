import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPmxcfsStandIn, type PmxcfsStandIn } from '../sandbox/pmxcfs/index.js';
import { findFreePort } from '../sandbox/ports.js';
import { startProcess, waitFor, type SandboxProcess } from '../sandbox/processes.js';
import { isProcessRunning } from '../../daemon/src/proxy/haproxy-process.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';

/**
 * Three daemons with different node names share one stand-in cluster filesystem, one PVE
 * simulator, one Cloudflare simulator and one Pebble; each runs its own HAProxy. Exactly one
 * holds the work lock, every HAProxy serves every service, a killed holder hands the work to
 * another node within the bound, and a quorum loss makes changes fail while serving goes on.
 */

const repositoryRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const LOCK_STALE_MS = 3_000;
const REFRESH_MS = 300;
/** Takeover bound after the holder died: stale time plus one refresh interval, plus scheduling slack. */
const TAKEOVER_BOUND_MS = LOCK_STALE_MS + REFRESH_MS + 2_000;

interface Node {
  name: string;
  socket: string;
  httpsPort: number;
  runDir: string;
  configFile: string;
  process: SandboxProcess | null;
}

interface Answer {
  status: number;
  body: { data?: unknown; message?: string };
}

function api(node: Node, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      { socketPath: node.socket, method, path: `/api2/json${path}`, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolveAnswer({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${node.name} for ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function fetchStatus(node: Node, hostname: string, rootPem: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: node.httpsPort, path: '/', servername: hostname, headers: { host: hostname }, ca: rootPem, timeout: 5_000, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolveStatus(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from the HAProxy of ${node.name} for ${hostname}`)));
    req.on('error', reject);
    req.end();
  });
}

async function holderName(standIn: PmxcfsStandIn): Promise<string | null> {
  try {
    const holder = JSON.parse(await readFile(join(standIn.stateDir, 'work-holder.json'), 'utf8')) as { node: string };
    return (await standIn.hasLock('pve-domains-work')) ? holder.node : null;
  } catch {
    return null;
  }
}

describe('three nodes', { timeout: 120_000 }, () => {
  let sandbox: Sandbox;
  let standIn: PmxcfsStandIn;
  let rootPem: string;
  const nodes: Node[] = [];
  let port = 0;

  async function startNode(node: Node): Promise<void> {
    node.process = startProcess(`pve-domainsd-${node.name}`, process.execPath, ['--import', 'tsx', join(repositoryRoot, 'daemon/src/bin/pve-domainsd.ts'), '--config', node.configFile], join(node.runDir, 'daemon.log'), {
      cwd: repositoryRoot,
      env: { ...process.env, PVE_DOMAINS_LOG_LEVEL: 'debug' },
    });
    const started = node.process;
    await waitFor(
      `the API of ${node.name}`,
      async () => {
        if (started.child.exitCode !== null) throw new Error(`pve-domainsd on ${node.name} exited; see ${join(node.runDir, 'daemon.log')}`);
        return (await api(node, 'GET', '/domains').catch(() => ({ status: 0 }))).status === 200;
      },
      30_000,
      100,
    );
  }

  async function servedEverywhere(hostname: string, among: Node[], timeoutMs: number): Promise<void> {
    await waitFor(
      `${hostname} on ${among.map((node) => node.name).join(', ')}`,
      async () => {
        for (const node of among) {
          if ((await fetchStatus(node, hostname, rootPem).catch(() => 0)) !== 200) return false;
        }
        return true;
      },
      timeoutMs,
      200,
    );
  }

  before(async () => {
    sandbox = await startSandbox();
    standIn = await createPmxcfsStandIn(sandbox.dir);
    rootPem = await readFile(sandbox.pebble.rootFile, 'utf8');
    port = sandbox.containers[0]?.port ?? 0;
    const base = JSON.parse(await readFile(sandbox.configFile, 'utf8')) as Record<string, unknown>;
    for (const [index, name] of ['pve1', 'pve2', 'pve3'].entries()) {
      const runDir = join(sandbox.dir, `node-${name}`);
      await mkdir(runDir, { recursive: true });
      const httpsPort = await findFreePort();
      const httpPort = await findFreePort();
      const config = {
        ...base,
        stateDir: standIn.stateDir,
        secretsDir: standIn.secretsDir,
        runDir,
        api: { ...(base['api'] as Record<string, unknown>), socket: join(runDir, 'api.sock'), listen: null },
        proxy: {
          ...(base['proxy'] as Record<string, unknown>),
          configDir: join(runDir, 'haproxy-config'),
          httpBind: { address: '127.0.0.1', port: httpPort },
          httpsBind: { address: '127.0.0.1', port: httpsPort },
          httpsRedirectPort: httpsPort,
        },
        cluster: { nodeName: name, lockStaleMs: LOCK_STALE_MS, workLockRefreshMs: REFRESH_MS, pollIntervalMs: REFRESH_MS, ingressAddresses: [`127.0.0.${index + 1}`] },
      };
      const configFile = join(runDir, 'pve-domainsd.json');
      await writeFile(configFile, JSON.stringify(config, null, 2));
      nodes.push({ name, socket: join(runDir, 'api.sock'), httpsPort, runDir, configFile, process: null });
    }
    await Promise.all(nodes.map((node) => startNode(node)));
  });

  after(async () => {
    for (const node of nodes) await node.process?.stop(10_000);
    await sandbox?.stop();
  });

  it('elects exactly one holder', async () => {
    await waitFor('a work lock holder', async () => (await holderName(standIn)) !== null, 10_000, 100);
    const holder = await holderName(standIn);
    assert.ok(nodes.some((node) => node.name === holder));
    const logs = await Promise.all(nodes.map(async (node) => (await readFile(join(node.runDir, 'daemon.log'), 'utf8')).includes('"msg":"work lock acquired')));
    assert.equal(logs.filter(Boolean).length, 1);
  });

  it('serves every service on every node', async () => {
    const created = await api(nodes[1] as Node, 'POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.acmeDirectoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    // Other nodes read the shared state at the poll interval, so the domain shows up there shortly after.
    await waitFor('the domain on every node', async () => {
      for (const node of nodes) {
        const listed = await api(node, 'GET', '/domains');
        if (!JSON.stringify(listed.body.data).includes('example.com')) return false;
      }
      return true;
    }, 5_000, 100);
    const first = await api(nodes[0] as Node, 'POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await api(nodes[2] as Node, 'POST', '/services', { subdomain: 'web', domain: 'example.com', vmid: 101, port });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    await servedEverywhere('app.example.com', nodes, 40_000);
    await servedEverywhere('web.example.com', nodes, 40_000);
  });

  it('moves the work after a kill', async () => {
    const current = await holderName(standIn);
    const victim = nodes.find((node) => node.name === current);
    assert.ok(victim !== undefined && victim.process !== null, `no running holder (holder file names ${String(current)})`);
    const haproxyPid = Number((await readFile(join(victim.runDir, 'haproxy', 'haproxy.pid'), 'utf8').catch(() => '0')).trim());
    victim.process.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.process.stop(5_000);
    victim.process = null;
    // The killed daemon could not stop its HAProxy; the pid file names it.
    if (haproxyPid > 0 && (await isProcessRunning(haproxyPid))) process.kill(haproxyPid, 'SIGTERM');

    await waitFor('another holder', async () => {
      const name = await holderName(standIn);
      return name !== null && name !== victim.name;
    }, TAKEOVER_BOUND_MS, 100);
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs <= TAKEOVER_BOUND_MS, `takeover took ${takeoverMs} ms`);

    // The new holder talks to Cloudflare and the CA: a new service gets its certificate.
    const survivors = nodes.filter((node) => node.process !== null);
    const created = await api(survivors[0] as Node, 'POST', '/services', { subdomain: 'after', domain: 'example.com', vmid: 101, port });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await servedEverywhere('after.example.com', survivors, 40_000);
  });

  it('rejects changes without quorum', async () => {
    const survivors = nodes.filter((node) => node.process !== null);
    await standIn.setQuorate(false);
    try {
      const refused = await api(survivors[0] as Node, 'POST', '/services', { subdomain: 'noquorum', domain: 'example.com', vmid: 101, port });
      assert.equal(refused.status, 503);
      assert.match(refused.body.message ?? '', /cluster not quorate/);
      await servedEverywhere('app.example.com', survivors, 5_000);
      await servedEverywhere('after.example.com', survivors, 5_000);
    } finally {
      await standIn.setQuorate(true);
    }
  });

  it('accepts changes with quorum back', async () => {
    const survivors = nodes.filter((node) => node.process !== null);
    const created = await api(survivors[1] as Node, 'POST', '/services', { subdomain: 'back', domain: 'example.com', vmid: 101, port });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await servedEverywhere('back.example.com', survivors, 40_000);
  });

  it('keeps every file within pmxcfs rules', async () => {
    assert.deepEqual(await standIn.violations(), []);
  });
});
