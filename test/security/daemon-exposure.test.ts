import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { login } from '../sandbox/pve/client.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { connectAsNobody, otherUserUnavailable } from './other-user.js';
import { findSecret, readForScan, walk, type Secret } from './secret-scan.js';

/**
 * The running daemon and its HAProxy, started by the sandbox: the secrets they handle appear in
 * no log line, no process argument and no file that other users may read, and their sockets
 * admit no other user.
 */

/** Processes whose command line names `marker`, and every descendant of those. */
async function processesOf(marker: string): Promise<Array<{ pid: number; args: string }>> {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      commands.set(pid, (await readFile(`/proc/${pid}/cmdline`)).toString('latin1').replaceAll('\0', ' '));
      const status = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The parent pid is the second field after the command name in parentheses.
      parents.set(pid, Number(status.slice(status.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process exited while the list was read.
    }
  }
  const chosen = new Set([...commands].filter(([, args]) => args.includes(marker)).map(([pid]) => pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!chosen.has(pid) && chosen.has(parent)) {
        chosen.add(pid);
        grew = true;
      }
    }
  }
  return [...chosen].map((pid) => ({ pid, args: commands.get(pid) ?? '' }));
}

describe('daemon exposure', () => {
  let sandbox: Sandbox;
  const secrets: Secret[] = [];
  /** Folders the daemon and its HAProxy write. */
  let productDirs: string[] = [];

  const tcpCall = (method: string, path: string, headers: Record<string, string>, body: unknown, ca: Buffer): Promise<number> =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const url = new URL(`${sandbox.apiUrl}/api2/json${path}`);
      const request = httpsRequest(url, { method, headers: { ...headers, 'content-type': 'application/json' }, ca, servername: 'localhost', agent: false, timeout: 20_000 }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end(payload);
    });

  before(async () => {
    sandbox = await startSandbox();
    await sandbox.startDaemon();
    productDirs = ['state', 'secrets', 'run', 'haproxy'].map((name) => join(sandbox.dir, name));
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    const refusedToken = randomBytes(30).toString('base64url');
    secrets.push({ name: 'cloudflare token', value: sandbox.cloudflareToken }, { name: 'refused cloudflare token', value: refusedToken }, { name: 'basic-auth password', value: password });
    secrets.push({ name: 'pve api token secret', value: (await readFile(join(sandbox.dir, 'pve-token-secret'), 'utf8')).trim() });
    const wwwKeyLines = sandbox.pve.wwwKey.split('\n').filter((line) => line.length > 40 && !line.startsWith('-----'));
    secrets.push(...wwwKeyLines.slice(0, 3).map((value, index) => ({ name: `pve www key line ${index + 1}`, value })));

    const registered = await sandbox.api('POST', '/domains', { domain: sandbox.zone, 'acme-directory': sandbox.pebble.directoryUrl, 'acme-email': 'admin@example.com', 'cloudflare-token': sandbox.cloudflareToken });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    // A token Cloudflare rejects: the failure is logged and returned as a 400, without the token.
    const refused = await sandbox.api('POST', '/domains', { domain: 'other.example.com', 'acme-directory': sandbox.pebble.directoryUrl, 'acme-email': 'admin@example.com', 'cloudflare-token': refusedToken });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    const port = sandbox.containers[0]?.port;
    const created = await sandbox.api('POST', '/services', { subdomain: 'app', domain: sandbox.zone, vmid: 101, port, 'basic-auth': [{ user: 'alice', password }] });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await sandbox.waitForService(`app.${sandbox.zone}`, 'active', 90_000);

    // A change over HTTPS with a PVE ticket, and one with a forged CSRF token.
    const userPassword = randomUUID();
    sandbox.pve.addUser('operator@pve', userPassword, { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit', 'VM.Config.Network'] });
    const session = await login(sandbox.pve.url, 'operator@pve', userPassword);
    secrets.push({ name: 'ticket signature', value: session.ticket.split('::')[1] ?? session.ticket }, { name: 'csrf token signature', value: session.csrfToken.split(':')[1] ?? session.csrfToken });
    const ca = await readFile(sandbox.apiCaFile);
    const cookie = `PVEAuthCookie=${encodeURIComponent(session.ticket)}`;
    assert.equal(await tcpCall('PUT', `/services/app.${sandbox.zone}`, { cookie, csrfpreventiontoken: session.csrfToken }, { 'hsts-max-age': 600 }, ca), 200);
    assert.equal(await tcpCall('PUT', `/services/app.${sandbox.zone}`, { cookie, csrfpreventiontoken: `${session.csrfToken.slice(0, -1)}x` }, { 'hsts-max-age': 60 }, ca), 401);

    // The stored hash of the basic-auth password counts as a secret too: it allows offline guessing.
    for (const file of await walk(join(sandbox.dir, 'state'))) {
      if (file.kind !== 'file') continue;
      const hash = /\$6\$[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}/.exec(await readFile(file.path, 'utf8'))?.[0];
      if (hash !== undefined && !secrets.some((secret) => secret.value === hash)) secrets.push({ name: 'basic-auth password hash', value: hash });
    }
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('logs no secret', async () => {
    const log = await readFile(join(sandbox.dir, 'daemon.log'), 'utf8');
    assert.match(log, /service created/, 'the log holds no line about the service');
    const found = findSecret(log, secrets);
    assert.equal(found, null, `daemon.log contains ${found ?? ''}`);
  });

  it('puts no secret in process arguments', async () => {
    const processes = await processesOf(sandbox.dir);
    assert.ok(processes.some((item) => item.args.includes('pve-domainsd')), 'the daemon process was not found');
    assert.ok(processes.some((item) => /haproxy/.test(item.args)), 'no haproxy process was found');
    for (const item of processes) {
      const found = findSecret(item.args, secrets);
      assert.equal(found, null, `the arguments of pid ${item.pid} (${item.args.slice(0, 120)}) contain ${found ?? ''}`);
    }
  });

  it('keeps secrets out of world-readable files', async (context) => {
    let scanned = 0;
    let files = 0;
    const readable: string[] = [];
    for (const root of productDirs) {
      for (const file of await walk(root)) {
        if (file.kind !== 'file') continue;
        files += 1;
        if ((file.mode & 0o004) !== 0) readable.push(relative(sandbox.dir, file.path));
        const found = findSecret(await readForScan(file.path), secrets);
        if (found === null) continue;
        scanned += 1;
        assert.equal(file.mode & 0o004, 0, `${relative(sandbox.dir, file.path)} (mode ${file.mode.toString(8)}) contains ${found} and others may read it`);
      }
    }
    context.diagnostic(`${files} files, ${scanned} holding a secret, readable by others: ${readable.join(', ') || 'none'}`);
    assert.ok(scanned > 0, 'no file holds a secret, so the check proved nothing');
  });

  it('keeps the secret store owner-only', async () => {
    const entries = await walk(join(sandbox.dir, 'secrets'));
    assert.ok(entries.length > 0);
    for (const entry of entries) assert.equal(entry.mode & 0o077, 0, `${relative(sandbox.dir, entry.path)} has mode ${entry.mode.toString(8)}`);
  });

  it('makes sockets owner-only', async (context) => {
    const sockets = (await Promise.all(productDirs.map((root) => walk(root)))).flat().filter((entry) => entry.kind === 'socket');
    const names = sockets.map((entry) => relative(sandbox.dir, entry.path));
    assert.ok(names.includes(relative(sandbox.dir, sandbox.socket)), `the API socket is missing from ${names.join(', ')}`);
    assert.ok(names.some((name) => /admin\.sock$/.test(name)), `the HAProxy runtime socket is missing from ${names.join(', ')}`);
    context.diagnostic(`sockets: ${sockets.map((entry) => `${relative(sandbox.dir, entry.path)} ${entry.mode.toString(8)}`).join(', ')}`);
    for (const entry of sockets) {
      assert.equal(entry.mode & 0o077, 0, `${relative(sandbox.dir, entry.path)} has mode ${entry.mode.toString(8)}`);
      assert.equal(entry.uid, process.getuid?.(), `${relative(sandbox.dir, entry.path)} belongs to uid ${entry.uid}`);
    }
  });

  it('refuses other users on the sockets', async (context) => {
    const reason = otherUserUnavailable();
    if (reason !== null) {
      context.skip(reason);
      return;
    }
    const sockets = (await Promise.all(productDirs.map((root) => walk(root)))).flat().filter((entry) => entry.kind === 'socket');
    assert.ok(sockets.length >= 2);
    // First as laid out: the sandbox folder itself is closed to others.
    for (const entry of sockets) assert.equal(connectAsNobody(entry.path), 'EACCES', relative(sandbox.dir, entry.path));

    // Then with every folder on the way open for traversal, so that only the socket's own mode
    // protects it. A socket the test opens to everyone shows that the probe can connect.
    const folders = new Set<string>();
    for (const entry of sockets) {
      for (let folder = dirname(entry.path); folder.startsWith(sandbox.dir); folder = dirname(folder)) folders.add(folder);
    }
    const modes = new Map<string, number>();
    for (const folder of folders) modes.set(folder, (await stat(folder)).mode & 0o7777);
    const control = join(dirname(sandbox.socket), 'control.sock');
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(control, resolve));
    try {
      await chmod(control, 0o666);
      for (const [folder, mode] of modes) await chmod(folder, mode | 0o001);
      assert.equal(connectAsNobody(control), 'connected', 'the probe cannot connect even to an open socket');
      for (const entry of sockets) assert.equal(connectAsNobody(entry.path), 'EACCES', relative(sandbox.dir, entry.path));
    } finally {
      for (const [folder, mode] of modes) await chmod(folder, mode);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
