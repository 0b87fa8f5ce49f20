import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { AcmeIssuer } from '../../daemon/src/acme/issuer.js';
import { buildApi } from '../../daemon/src/api/server.js';
import { DomainVerifier } from '../../daemon/src/domains/verification.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { startCloudflareSimulator, type CloudflareSimulator } from '../sandbox/cloudflare/index.js';
import { startPebble, type RunningPebble } from '../sandbox/pebble.js';

/** A 256-bit EAB HMAC key, base64url, known to the EAB-requiring Pebble under `eabKeyId`. */
export const eabKeyId = 'kid-sandbox-1';
export const eabHmacKey = Buffer.alloc(32, 7).toString('base64url');

export interface DomainsFixture {
  dir: string;
  cloudflare: CloudflareSimulator;
  pebble: RunningPebble;
  /** Pebble that refuses accounts without External Account Binding; null unless asked for. */
  eabPebble: RunningPebble | null;
  state: StateStore;
  secrets: SecretStore;
  issuer: AcmeIssuer;
  app: FastifyInstance;
  /** Every log line the API and the verifier wrote. */
  logLines: string[];
  /** Every API response body, for the secret-leak check. */
  responses: string[];
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/**
 * Starts the Cloudflare simulator, Pebble (and an EAB-requiring Pebble when asked) and an API
 * with a domain verifier, all on 127.0.0.1.
 */
export async function startDomainsFixture(options: { eab?: boolean } = {}): Promise<DomainsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-verify-'));
  const stoppers: Array<() => Promise<void>> = [];
  const cloudflare = await startCloudflareSimulator();
  stoppers.push(() => cloudflare.stop());
  const dnsServer = `${cloudflare.dnsAddress}:${cloudflare.dnsPort}`;
  await mkdir(join(dir, 'pebble'));
  const pebble = await startPebble({ dir: join(dir, 'pebble'), dnsServer });
  stoppers.push(() => pebble.stop());
  let eabPebble: RunningPebble | null = null;
  if (options.eab === true) {
    await mkdir(join(dir, 'pebble-eab'));
    eabPebble = await startPebble({ dir: join(dir, 'pebble-eab'), dnsServer, eabKeys: { [eabKeyId]: eabHmacKey } });
    stoppers.push(async () => eabPebble?.stop());
  }
  // One CA file for both Pebble listeners, because acme-client shares one HTTPS agent.
  const caFile = join(dir, 'listener-cas.pem');
  const cas = [await readFile(pebble.listenerCaFile, 'utf8'), ...(eabPebble === null ? [] : [await readFile(eabPebble.listenerCaFile, 'utf8')])];
  await writeFile(caFile, cas.join('\n'));

  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger: Logger = pino({ level: 'debug' }, sink);
  const state = await StateStore.open(join(dir, 'state'));
  const secrets = new SecretStore(join(dir, 'secrets'));
  const issuer = new AcmeIssuer(
    {
      clusterName: 'test',
      caFile,
      pollMinMs: 100,
      pollMaxMs: 500,
      propagation: { resolvers: [dnsServer], authoritativePort: cloudflare.dnsPort, timeoutMs: 10_000, intervalMs: 100, logger },
      logger,
    },
    state,
    secrets,
  );
  const domainVerifier = new DomainVerifier({ clusterName: 'test', cloudflareApiBaseUrl: cloudflare.apiBaseUrl, resolvers: [dnsServer], acmeCaFile: caFile, logger }, state, secrets);
  const app = await buildApi({ state, secrets, enqueue: () => undefined, domainVerifier, logger });
  const responses: string[] = [];
  return {
    dir,
    cloudflare,
    pebble,
    eabPebble,
    state,
    secrets,
    issuer,
    app,
    logLines,
    responses,
    async call(method, url, payload) {
      const answer = await app.inject({ method, url: `/api2/json${url}`, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
      responses.push(answer.body);
      return { status: answer.statusCode, body: answer.json<Record<string, unknown>>() };
    },
    async stop() {
      await app.close();
      for (const stop of stoppers.reverse()) await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Cloudflare-style API token: 40 characters of letters, digits, `-` and `_`. */
export function newToken(seed: string): string {
  return `${seed}${'x'.repeat(40)}`.slice(0, 40);
}

/** Returns the per-check messages of a failed save, keyed by check name. */
export function checksOf(body: Record<string, unknown>): Record<string, string> {
  return (body['errors'] ?? {}) as Record<string, string>;
}
