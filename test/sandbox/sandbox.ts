import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloudflareSimulator, type CloudflareSimulator, type CloudflareSimulatorOptions } from './cloudflare/index.js';
import { startAcmeFront, type AcmeFront } from './acme-front/index.js';
import { startPebble, type RunningPebble } from './pebble.js';
import { findFreePort } from './ports.js';
import { startProcess, waitFor, type SandboxProcess } from './processes.js';
import { startContainerServers, startPveSimulator, type PveSimulator, type SimContainer } from './pve/index.js';
import { makeListenerCertificate } from './tls.js';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SandboxOptions {
  /** Keep the sandbox folder after stop (the demo keeps it for inspection). */
  keepDir?: boolean;
  /** Lifetime of the certificates Pebble issues, in seconds. */
  pebbleValiditySeconds?: number;
  /** Put the fault-injecting ACME front (with renewalInfo) between the daemon and Pebble. */
  acmeFront?: boolean;
  /** Changes the daemon's configuration document before it is written. */
  configure?: (config: Record<string, unknown>) => void;
  /** Options of the Cloudflare simulator, such as a second authoritative DNS server. */
  cloudflare?: CloudflareSimulatorOptions;
}

export interface HttpsAnswer {
  status: number;
  body: string;
  certificate: DetailedPeerCertificate;
}

export interface ApiAnswer {
  status: number;
  body: { data?: unknown; message?: string; errors?: Record<string, string> };
}

/** Everything a test or the demo needs: simulators, Pebble, container stand-ins and the daemon. */
export interface Sandbox {
  readonly dir: string;
  readonly cloudflare: CloudflareSimulator;
  readonly pve: PveSimulator;
  readonly pebble: RunningPebble;
  /** The ACME front, when started with `acmeFront`. */
  readonly acmeFront: AcmeFront | null;
  /** Directory URL the domains should use: the front's when present, else Pebble's. */
  readonly acmeDirectoryUrl: string;
  readonly containers: SimContainer[];
  readonly zone: string;
  readonly cloudflareToken: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly configFile: string;
  readonly socket: string;
  /** HTTPS base URL of the daemon's TCP API (PVE tickets and API tokens), without /api2/json. */
  readonly apiUrl: string;
  /** CA that signs the certificate of `apiUrl`. */
  readonly apiCaFile: string;
  /** Starts the daemon as a child process and waits until its API answers. */
  startDaemon(): Promise<void>;
  /** Stops the daemon with SIGTERM (or SIGKILL) and waits for its exit. */
  stopDaemon(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * GET through the ingress with SNI and Host `hostname`, trusting only Pebble's root; with
   * `verify: false` the certificate is not checked (to see what the ingress serves for a name
   * it no longer has a certificate for).
   */
  fetchHttps(hostname: string, options?: { path?: string; verify?: boolean }): Promise<HttpsAnswer>;
  /** Polls the service until its status is `status`. */
  waitForService(fqdn: string, status: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Cloudflare-style API token: 40 characters of letters, digits, `-` and `_`. */
/**
 * Extra Node.js options for the sandbox daemon from PVE_DOMAINS_DAEMON_NODE_ARGS, split at spaces,
 * for profiling it (for example `--cpu-prof --cpu-prof-dir=/tmp/prof`); NODE_OPTIONS refuses those.
 */
function daemonNodeArgs(): string[] {
  return (process.env['PVE_DOMAINS_DAEMON_NODE_ARGS'] ?? '').split(' ').filter((item) => item !== '');
}

function newCloudflareToken(): string {
  return randomBytes(30).toString('base64url');
}

/** The sandbox's PVE administrator; the simulator accepts this password only. */
export const sandboxAdmin = { user: 'admin@pve', password: 'sandbox-admin' } as const;

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-sandbox-'));
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`sandbox: stop failed: ${(err as Error).message}\n`);
      }
    }
    if (options.keepDir !== true) await rm(dir, { recursive: true, force: true });
  };

  try {
    // Cloudflare with its authoritative DNS server, and the zone the demo publishes in.
    const cloudflare = await startCloudflareSimulator(options.cloudflare);
    stoppers.push(() => cloudflare.stop());
    const zone = 'example.com';
    cloudflare.addZone(zone);
    const cloudflareToken = newCloudflareToken();
    cloudflare.addToken(cloudflareToken, { zones: [zone], permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });

    // Containers and the PVE API that describes them.
    const containers: SimContainer[] = [
      { vmid: 101, hostname: 'app', address: '127.0.0.11', port: await findFreePort('127.0.0.11'), status: 'running' },
      { vmid: 102, hostname: 'wiki', address: '127.0.0.12', port: await findFreePort('127.0.0.12'), status: 'running' },
    ];
    const containerServers = await startContainerServers(containers);
    stoppers.push(() => containerServers.stop());
    const pve = await startPveSimulator({ containers });
    stoppers.push(() => pve.stop());
    const tokenSecret = randomUUID();
    // A PVE user with a known password, so that a person trying the sandbox can get a ticket
    // (POST /api2/json/access/ticket at the PVE simulator) and call the daemon's HTTPS API.
    pve.addUser(sandboxAdmin.user, sandboxAdmin.password, { '/': ['Sys.Audit', 'Sys.Modify', 'VM.Audit', 'VM.Config.Network', 'VM.Config.Options'] });
    const tokenId = pve.addApiToken('pve-domains@pve', 'daemon', tokenSecret, { privsep: false, privileges: { '/': ['Sys.Audit'], '/vms': ['VM.Audit', 'VM.Config.Network', 'VM.Config.Options'] } });

    // Pebble resolves DNS-01 records at the simulator's DNS server.
    const pebbleDir = join(dir, 'pebble');
    await mkdir(pebbleDir);
    const pebble = await startPebble({
      dir: pebbleDir,
      dnsServer: `${cloudflare.dnsAddress}:${cloudflare.dnsPort}`,
      ...(options.pebbleValiditySeconds === undefined ? {} : { validitySeconds: options.pebbleValiditySeconds }),
    });
    stoppers.push(() => pebble.stop());
    let acmeFront: AcmeFront | null = null;
    if (options.acmeFront === true) {
      const front = await startAcmeFront({ pebbleDirectoryUrl: pebble.directoryUrl, certFile: pebble.listenerCertFile, keyFile: pebble.listenerKeyFile, caFile: pebble.listenerCaFile });
      stoppers.push(() => front.stop());
      acmeFront = front;
    }

    // The daemon's configuration.
    const httpsPort = await findFreePort();
    const httpPort = await findFreePort();
    const tokenSecretFile = join(dir, 'pve-token-secret');
    await writeFile(tokenSecretFile, `${tokenSecret}\n`, { mode: 0o600 });
    const socket = join(dir, 'run', 'api.sock');
    // The TCP API verifies the simulator's CSRF tokens with the www key, as a daemon on a node reads /etc/pve/pve-www.key.
    const apiPort = await findFreePort();
    const apiCertificate = await makeListenerCertificate(dir, 'daemon-api');
    const csrfKeyFile = join(dir, 'pve-www.key');
    await writeFile(csrfKeyFile, pve.wwwKey, { mode: 0o600 });
    const configFile = join(dir, 'pve-domainsd.json');
    const sendmailStandIn = join(dir, 'sendmail');
    await writeFile(sendmailStandIn, `#!/bin/sh\n{ echo "sendmail $*"; cat; echo; } >> '${join(dir, 'mail.log')}'\n`, { mode: 0o755 });
    const daemonConfig: Record<string, unknown> = {
          clusterName: 'sandbox',
          stateDir: join(dir, 'state'),
          secretsDir: join(dir, 'secrets'),
          runDir: join(dir, 'run'),
          api: {
            socket,
            listen: { address: '127.0.0.1', port: apiPort },
            tlsCertFile: apiCertificate.certFile,
            tlsKeyFile: apiCertificate.keyFile,
            csrfKeyFile,
            pveCaFile: null,
          },
          pve: { url: pve.url, tokenId, tokenSecretFile },
          dns: { resolvers: [`${cloudflare.dnsAddress}:${cloudflare.dnsPort}`], authoritativePort: cloudflare.dnsPort, propagationTimeoutMs: 20_000, propagationIntervalMs: 100 },
          cloudflare: { apiBaseUrl: cloudflare.apiBaseUrl },
          acme: { caFile: pebble.listenerCaFile, pollMinMs: 100, pollMaxMs: 1_000 },
          site: { name: 'default', addresses: ['127.0.0.1'] },
          proxy: {
            binary: '/usr/sbin/haproxy',
            configDir: join(dir, 'haproxy'),
            httpBind: { address: '127.0.0.1', port: httpPort },
            httpsBind: { address: '127.0.0.1', port: httpsPort },
            httpsRedirectPort: httpsPort,
          },
          reconcile: { resyncIntervalMs: 60_000, retryMinMs: 500, retryMaxMs: 10_000 },
          // Notification mail goes to a stand-in that appends each message to mail.log.
          notify: { sendmailPath: sendmailStandIn, stateFile: join(dir, 'notify', 'notifications.json') },
          tasks: { dir: join(dir, 'tasks') },
    };
    options.configure?.(daemonConfig);
    await writeFile(configFile, JSON.stringify(daemonConfig, null, 2));

    const rootPem = await readFile(pebble.rootFile, 'utf8');
    let daemon: SandboxProcess | null = null;

    const api = (method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
      new Promise((resolveAnswer, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpRequest(
          { socketPath: socket, method, path: `/api2/json${path}`, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, timeout: 10_000 },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              try {
                resolveAnswer({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApiAnswer['body'] });
              } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
              }
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer from the daemon for ${method} ${path}`)));
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });

    const sandbox: Sandbox = {
      dir,
      cloudflare,
      pve,
      pebble,
      acmeFront,
      acmeDirectoryUrl: acmeFront?.directoryUrl ?? pebble.directoryUrl,
      containers,
      zone,
      cloudflareToken,
      httpsPort,
      httpPort,
      configFile,
      socket,
      apiUrl: `https://127.0.0.1:${apiPort}`,
      apiCaFile: apiCertificate.caFile,
      async startDaemon(): Promise<void> {
        if (daemon !== null) throw new Error('the sandbox daemon is already running');
        daemon = startProcess('pve-domainsd', process.execPath, [...daemonNodeArgs(), '--import', 'tsx', join(repositoryRoot, 'daemon/src/bin/pve-domainsd.ts'), '--config', configFile], join(dir, 'daemon.log'), {
          cwd: repositoryRoot,
          env: { ...process.env, PVE_DOMAINS_LOG_LEVEL: 'debug' },
        });
        const started = daemon;
        await waitFor(
          'the daemon API',
          async () => {
            if (started.child.exitCode !== null) throw new Error(`pve-domainsd exited with code ${started.child.exitCode}; see ${join(dir, 'daemon.log')}`);
            return (await api('GET', '/domains')).status === 200;
          },
          30_000,
          100,
        );
      },
      async stopDaemon(signal = 'SIGTERM'): Promise<void> {
        if (daemon === null) return;
        const running = daemon;
        daemon = null;
        if (signal === 'SIGKILL') running.child.kill('SIGKILL');
        await running.stop(10_000);
      },
      api,
      cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolveRun) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', join(repositoryRoot, 'daemon/src/bin/pve-domains.ts'), ...args],
            { cwd: repositoryRoot, env: { ...process.env, PVE_DOMAINS_SOCKET: socket }, timeout: 30_000 },
            (error, stdout, stderr) => {
              const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
              resolveRun({ code, stdout, stderr });
            },
          );
        });
      },
      fetchHttps(hostname: string, fetchOptions: { path?: string; verify?: boolean } = {}): Promise<HttpsAnswer> {
        const path = fetchOptions.path ?? '/';
        const verify = fetchOptions.verify ?? true;
        return new Promise((resolveAnswer, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port: httpsPort, path, servername: hostname, headers: { host: hostname }, ca: rootPem, rejectUnauthorized: verify, timeout: 5_000, agent: false },
            (res) => {
              const certificate = (res.socket as TLSSocket).getPeerCertificate(true);
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), certificate }));
            },
          );
          req.on('timeout', () => req.destroy(new Error(`no answer from the ingress for ${hostname}`)));
          req.on('error', reject);
          req.end();
        });
      },
      async waitForService(fqdn: string, status: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
        let last: Record<string, unknown> = {};
        await waitFor(
          `service ${fqdn} to be ${status}`,
          async () => {
            const answer = await api('GET', `/services/${fqdn}`);
            last = (answer.body.data ?? {}) as Record<string, unknown>;
            return last['status'] === status;
          },
          timeoutMs,
          100,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
        });
        return last;
      },
      async stop(): Promise<void> {
        await sandbox.stopDaemon();
        await stopAll();
      },
    };
    return sandbox;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
