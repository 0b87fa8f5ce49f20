import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DnsRecordView } from '../sandbox/cloudflare/index.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { exposeService, fastRetries, findViolations, HttpsProbe, listServices, median, proxyPaths, registerDomain, seedForeignRecords, sleep, waitUntil } from './harness.js';
import { RuntimeSocketInterposer, type SocketAction } from './runtime-socket.js';
import { mountSupport, StateMount } from './state-mount.js';

/**
 * Each external dependency fails in each way it can while app.example.com is served and a new
 * service is being set up. In every case HTTPS to the served service keeps returning 200, and
 * the failing dependency gets a bounded number of requests, spaced out. The new service's
 * status names the cause, or the daemon log and the API response do where the status cannot be
 * written. Once the fault is lifted, the new service becomes active without any request.
 */

/** How long each fault stays on once the daemon has run into it. */
const faultWindowMs = 2_000;
const baseService = 'app.example.com';

/** What a case needs from the running suite. */
interface CaseContext {
  sandbox: Sandbox;
  fqdn: string;
  interposer: () => RuntimeSocketInterposer | null;
  stateMount: StateMount | null;
}

interface Attempt {
  time: number;
  /** HTTP status of the failed response, when the dependency sends one. */
  status?: number;
}

interface FaultCase {
  dependency: string;
  mode: string;
  arm(context: CaseContext): Promise<void>;
  lift(context: CaseContext): Promise<void>;
  /** Requests the dependency received from `since` on. */
  attempts(context: CaseContext, since: number): Attempt[];
  /** Pattern the status (or the log, for `causeIn: 'log'`) must match. */
  cause: RegExp;
  causeIn: 'status' | 'log';
  /** Most requests the dependency may receive in one second. */
  maxPerSecond: number;
  /** A Retry-After the daemon must honour, in seconds. */
  retryAfterSeconds?: number;
  /** Arm the fault after the service was created, because it blocks the creation itself. */
  armAfterCreate?: boolean;
}

const anyCloudflareRecordCall = (request: { path: string }): boolean => request.path.includes('/dns_records') || request.path.endsWith('/zones');
const anyPveCall = (request: { path: string }): boolean => request.path.startsWith('/api2/json/');

function cloudflareCase(mode: string, fault: Parameters<Sandbox['cloudflare']['injectFault']>[0], cause: RegExp, retryAfterSeconds?: number): FaultCase {
  return {
    dependency: 'Cloudflare API',
    mode,
    arm: ({ sandbox }) => Promise.resolve(sandbox.cloudflare.injectFault(fault)),
    lift: ({ sandbox }) => Promise.resolve(sandbox.cloudflare.clearFaults()),
    attempts: ({ sandbox }, since) => sandbox.cloudflare.requestLog.filter((entry) => entry.time >= since && anyCloudflareRecordCall(entry)).map((entry) => ({ time: entry.time, status: entry.status })),
    cause,
    causeIn: 'status',
    maxPerSecond: 8,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

function caCase(mode: string, fault: { action: 'reply' | 'hang' | 'reset' | 'malformed'; status: number; type: string; headers?: Record<string, string> }, cause: RegExp, retryAfterSeconds?: number): FaultCase {
  return {
    dependency: 'ACME CA',
    mode,
    arm: ({ sandbox }) => Promise.resolve(sandbox.acmeFront?.inject({ method: 'POST', pathPrefix: '/', detail: 'injected CA fault', times: Number.POSITIVE_INFINITY, ...fault })),
    lift: ({ sandbox }) => Promise.resolve(sandbox.acmeFront?.clearFaults()),
    attempts: ({ sandbox }, since) => (sandbox.acmeFront?.requestLog ?? []).filter((entry) => entry.time >= since && entry.method === 'POST').map((entry) => ({ time: entry.time })),
    cause,
    causeIn: 'status',
    maxPerSecond: 8,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

function dnsCase(mode: string, fault: 'timeout' | 'refused' | 'servfail', cause: RegExp): FaultCase {
  const name = (fqdn: string): string => `_acme-challenge.${fqdn}`;
  return {
    dependency: 'DNS',
    mode,
    arm: ({ sandbox, fqdn }) => Promise.resolve(sandbox.cloudflare.setDnsFault(name(fqdn), fault)),
    lift: ({ sandbox, fqdn }) => Promise.resolve(sandbox.cloudflare.setDnsFault(name(fqdn), null)),
    attempts: ({ sandbox, fqdn }, since) => sandbox.cloudflare.dnsQueries.filter((entry) => entry.time >= since && entry.name === name(fqdn)).map((entry) => ({ time: entry.time })),
    cause,
    causeIn: 'status',
    // The propagation check polls each authoritative server every 100 ms here, and the CA queries too.
    maxPerSecond: 40,
  };
}

function pveCase(mode: string, fault: { action: 'reply' | 'hang' | 'reset' | 'malformed'; status?: number; message?: string }, cause: RegExp): FaultCase {
  return {
    dependency: 'PVE API',
    mode,
    arm: ({ sandbox }) => Promise.resolve(sandbox.pve.injectFault({ match: (request) => anyPveCall(request), times: Number.POSITIVE_INFINITY, ...fault })),
    lift: ({ sandbox }) => Promise.resolve(sandbox.pve.clearFaults()),
    attempts: ({ sandbox }, since) => sandbox.pve.requestLog.filter((entry) => (entry.time ?? 0) >= since && entry.faulted === true).map((entry) => ({ time: entry.time ?? 0 })),
    cause,
    causeIn: 'status',
    maxPerSecond: 10,
  };
}

/** Change commands of the runtime API; `show` commands pass, so that a fallback reload can confirm its new worker. */
const runtimeChange = /^(add|set|del|new|commit) /;

function socketCase(mode: string, action: SocketAction, cause: RegExp): FaultCase {
  return {
    dependency: 'HAProxy runtime socket',
    mode,
    arm: ({ interposer }) => Promise.resolve(interposer()?.setRule({ action, match: (command) => runtimeChange.test(command) })),
    lift: ({ interposer }) => Promise.resolve(interposer()?.clear()),
    attempts: ({ interposer }, since) => (interposer()?.commands ?? []).filter((command) => command.time >= since && command.action !== 'pass').map((command) => ({ time: command.time })),
    cause,
    causeIn: 'log',
    maxPerSecond: 10,
  };
}

function stateCase(mode: string, arm: (mount: StateMount) => Promise<void>, lift: (mount: StateMount) => Promise<void>, cause: RegExp): FaultCase {
  return {
    dependency: 'state folder',
    mode,
    arm: async ({ stateMount }) => {
      if (stateMount !== null) await arm(stateMount);
    },
    lift: async ({ stateMount }) => {
      if (stateMount !== null) await lift(stateMount);
    },
    attempts: () => [],
    cause,
    causeIn: 'log',
    maxPerSecond: 10,
    armAfterCreate: true,
  };
}

const cloudflareError = { success: false, errors: [{ code: 10000, message: 'Internal error' }], messages: [], result: null };
const rateLimitError = { success: false, errors: [{ code: 10100, message: 'More than 1200 requests per 300 seconds reached.' }], messages: [], result: null };

/** Every dependency and failure mode. Modes a dependency cannot show are listed in `notApplicable`. */
const cases: FaultCase[] = [
  cloudflareCase('timeout', { match: anyCloudflareRecordCall, action: 'hang', status: 200, times: Number.POSITIVE_INFINITY }, /Cloudflare API unreachable \(Request timed out/),
  cloudflareCase('429 Retry-After', { match: anyCloudflareRecordCall, status: 429, body: rateLimitError, headers: { 'retry-after': '1' }, times: Number.POSITIVE_INFINITY }, /Cloudflare answered HTTP 429 \(10100/, 1),
  cloudflareCase('5xx', { match: anyCloudflareRecordCall, status: 503, body: cloudflareError, times: Number.POSITIVE_INFINITY }, /Cloudflare answered HTTP 503/),
  cloudflareCase('malformed body', { match: anyCloudflareRecordCall, action: 'malformed', status: 200, times: Number.POSITIVE_INFINITY }, /JSON/),
  cloudflareCase('connection reset', { match: anyCloudflareRecordCall, action: 'reset', status: 200, times: Number.POSITIVE_INFINITY }, /Cloudflare API unreachable/),
  caCase('timeout', { action: 'hang', status: 200, type: 'serverInternal' }, /ACME directory \S+ is unreachable/),
  caCase('429 Retry-After', { action: 'reply', status: 429, type: 'rateLimited', headers: { 'retry-after': '1' } }, /rateLimited/, 1),
  caCase('5xx', { action: 'reply', status: 500, type: 'serverInternal' }, /HTTP 500|serverInternal/),
  caCase('malformed body', { action: 'malformed', status: 400, type: 'malformed' }, /HTTP 400|JSON|malformed/i),
  caCase('connection reset', { action: 'reset', status: 200, type: 'serverInternal' }, /ACME directory \S+ is unreachable/),
  dnsCase('timeout', 'timeout', /timeout|timed out/i),
  dnsCase('REFUSED', 'refused', /REFUSED the query/),
  dnsCase('SERVFAIL', 'servfail', /answered SERVFAIL/),
  pveCase('timeout', { action: 'hang' }, /through the PVE API: .*(timeout|aborted|abort)/i),
  pveCase('5xx', { action: 'reply', status: 500, message: 'injected PVE failure' }, /500/),
  pveCase('malformed body', { action: 'malformed' }, /through the PVE API: GET \/cluster\/resources returned .* instead of a list/),
  pveCase('connection reset', { action: 'reset' }, /through the PVE API: .*(ECONNRESET|fetch failed|socket|terminated)/i),
  socketCase('timeout', 'hang', /did not respond .* \(timed out\)/),
  socketCase('command rejected', 'reject', /HAProxy rejected/),
  socketCase('malformed output', 'garble', /unexpected output|rejected/),
  socketCase('connection closed', 'close', /closed the connection .* without answering/),
  stateCase('read-only', (mount) => mount.setReadOnly(true), (mount) => mount.setReadOnly(false), /read-only|not quorate/i),
  stateCase('full', (mount) => mount.fill(), (mount) => mount.unfill(), /ENOSPC|no space/i),
];

const notApplicable: Array<[string, string]> = [
  ['DNS', '429, malformed body and connection reset: DNS-01 checks use UDP, which has no status codes or connections; a garbled datagram is dropped like a timeout'],
  ['PVE API', '429: pveproxy sends no 429; its overload answer is a 5xx'],
  ['HAProxy runtime socket', '429: a unix socket has no status codes'],
];

interface CaseResult {
  name: string;
  attempts: number;
  maxPerSecond: number;
  minGapMs: number | null;
  causeAfterMs: number;
  recoverMs: number;
  probes: number;
  probeFailures: number;
  /** The text around the cause in the status or log. */
  causeText: string;
}

describe('fault matrix', () => {
  let sandbox: Sandbox;
  let foreign: DnsRecordView[] = [];
  let probe: HttpsProbe;
  let interposer: RuntimeSocketInterposer | null = null;
  let stateMount: StateMount | null = null;
  let stateSkip: string | null = null;
  const expected = new Set<string>([baseService]);
  const results: CaseResult[] = [];
  let counter = 0;

  before(async () => {
    stateSkip = await mountSupport();
    sandbox = await startSandbox({
      acmeFront: true,
      configure: (config) => {
        fastRetries(config);
        // Shorter waits than the crash suite: each case waits out one backoff and one propagation timeout.
        (config['reconcile'] as Record<string, unknown>)['retryMaxMs'] = 1_000;
        (config['certificates'] as Record<string, unknown>)['backoffMaxMs'] = 1_000;
        (config['dns'] as Record<string, unknown>)['propagationTimeoutMs'] = 1_000;
        (config['cloudflare'] as Record<string, unknown>)['requestTimeoutMs'] = 500;
      },
    });
    if (stateSkip === null) stateMount = await StateMount.mount(join(sandbox.dir, 'state'), 4 * 1024 * 1024);
    sandbox.acmeFront?.setAriWindow(0.97, 0.99, 30);
    foreign = seedForeignRecords(sandbox);
    await sandbox.startDaemon();
    await registerDomain(sandbox, sandbox.acmeDirectoryUrl);
    await exposeService(sandbox, 'app', 0);
    await sandbox.waitForService(baseService, 'active', 60_000);
    interposer = await RuntimeSocketInterposer.install(proxyPaths(sandbox).adminSocket);
    probe = new HttpsProbe(sandbox.httpsPort, baseService, 100);
    probe.start();
  });

  after(async () => {
    await probe?.stop();
    sandbox?.cloudflare.clearFaults();
    sandbox?.pve.clearFaults();
    sandbox?.acmeFront?.clearFaults();
    await interposer?.remove().catch(() => undefined);
    await sandbox?.stopDaemon();
    if (stateMount !== null) {
      await stateMount.setReadOnly(false).catch(() => undefined);
      await stateMount.unmount();
    }
    await sandbox?.stop();
    if (results.length > 0) {
      process.stdout.write('# fault matrix: case | requests during fault | max per s | min gap ms | cause shown after ms | recovered after lift ms | probes failed/total\n');
      for (const result of results) {
        process.stdout.write(`# ${result.name} | ${result.attempts} | ${result.maxPerSecond} | ${result.minGapMs ?? '-'} | ${result.causeAfterMs} | ${result.recoverMs} | ${result.probeFailures}/${result.probes}\n`);
        process.stdout.write(`#   cause: ...${result.causeText}...\n`);
      }
      const recovery = results.map((result) => result.recoverMs);
      process.stdout.write(`# fault matrix: ${results.length} cases, recovery median ${median(recovery)} ms, max ${Math.max(...recovery)} ms\n`);
      for (const [dependency, reason] of notApplicable) process.stdout.write(`# not applicable to ${dependency}: ${reason}\n`);
    }
  });

  const statusText = async (fqdn: string): Promise<string> => {
    const service = (await listServices(sandbox)).find((item) => item.fqdn === fqdn);
    if (service === undefined) return '';
    return [service.status, service['last-error'] ?? '', ...service.conditions.filter((item) => item.status !== 'true').map((item) => `${item.type} ${item.reason}: ${item.message}`)].join(' | ');
  };

  const daemonLog = async (): Promise<string> => readFile(join(sandbox.dir, 'daemon.log'), 'utf8');

  // FAULT_CASES (a substring such as "PVE API" or "timeout") runs only the matching cases.
  const only = process.env['FAULT_CASES'];
  for (const fault of cases.filter((item) => only === undefined || `${item.dependency}: ${item.mode}`.includes(only))) {
    it(`${fault.dependency}: ${fault.mode}`, async (t) => {
      if (fault.dependency === 'state folder' && stateSkip !== null) {
        t.skip(`${stateSkip}; the state folder cases need a mount of their own`);
        return;
      }
      counter++;
      const subdomain = `m${counter}`;
      const fqdn = `${subdomain}.${sandbox.zone}`;
      const context: CaseContext = { sandbox, fqdn, interposer: () => interposer, stateMount };
      const logBefore = (await daemonLog()).length;
      const started = Date.now();

      if (fault.armAfterCreate !== true) await fault.arm(context);
      await exposeService(sandbox, subdomain, 1);
      expected.add(fqdn);
      if (fault.armAfterCreate === true) await fault.arm(context);

      let shown = '';
      try {
        await waitUntil(
          `the cause of ${fault.dependency} ${fault.mode}`,
          async () => {
            shown = fault.causeIn === 'status' ? await statusText(fqdn) : (await daemonLog()).slice(logBefore);
            return fault.cause.test(shown);
          },
          20_000,
          () => Promise.resolve(`last seen: ${shown.slice(-1_500)}`),
        );
        const causeAfterMs = Date.now() - started;
        const at = shown.search(fault.cause);
        const causeText = shown.slice(Math.max(0, at - 100), at + 100).replace(/\s+/g, ' ');
        if (fault.dependency === 'state folder') {
          // A change through the API during the fault is refused with the cause.
          const refused = await sandbox.api('POST', '/services', { subdomain: `${subdomain}x`, domain: sandbox.zone, vmid: sandbox.containers[1]?.vmid, port: sandbox.containers[1]?.port });
          assert.notEqual(refused.status, 200);
          assert.match(refused.body.message ?? '', fault.cause);
        }
        await sleep(Math.max(0, started + faultWindowMs - Date.now()));
        const faultEnd = Date.now();
        const attempts = fault.attempts(context, started).filter((attempt) => attempt.time <= faultEnd);
        await fault.lift(context);

        await waitUntil(`${fqdn} to recover`, async () => (await statusText(fqdn)).startsWith('active'), 30_000, () => statusText(fqdn));
        const recoverMs = Date.now() - faultEnd;
        await waitUntil('the proxy to match the stored state', async () => (await findViolations(sandbox, expected, foreign)).length === 0, 10_000, async () => (await findViolations(sandbox, expected, foreign)).join('; '));

        const samples = probe.since(started);
        const probeFailures = samples.filter((sample) => sample.error !== null || sample.status !== 200);
        const times = attempts.map((attempt) => attempt.time);
        let busiest = 0;
        for (const time of times) busiest = Math.max(busiest, times.filter((other) => other >= time && other < time + 1_000).length);
        const gaps = times.slice(1).map((time, index) => time - (times[index] ?? time));
        results.push({
          name: `${fault.dependency}: ${fault.mode}`,
          attempts: attempts.length,
          maxPerSecond: busiest,
          minGapMs: gaps.length === 0 ? null : Math.min(...gaps),
          causeAfterMs,
          recoverMs,
          probes: samples.length,
          probeFailures: probeFailures.length,
          causeText,
        });

        assert.ok(samples.length > 0, 'no HTTPS probe ran during the case');
        assert.deepEqual(
          probeFailures.map((sample) => sample.error ?? `HTTP ${sample.status ?? '?'}`),
          [],
          `HTTPS to ${baseService} failed during the fault`,
        );
        assert.ok(busiest <= fault.maxPerSecond, `${busiest} requests within one second, more than ${fault.maxPerSecond}`);
        if (fault.retryAfterSeconds !== undefined) {
          const early = attempts.filter((attempt, index) => index > 0 && attempt.time - (attempts[index - 1]?.time ?? 0) < fault.retryAfterSeconds! * 1_000 - 100);
          assert.deepEqual(early.map((attempt) => attempt.time - started), [], `requests sooner than Retry-After ${fault.retryAfterSeconds} s after a 429`);
        }
      } finally {
        await fault.lift(context).catch(() => undefined);
        const deleted = await sandbox.api('DELETE', `/services/${fqdn}`);
        expected.delete(fqdn);
        if (deleted.status === 200) {
          await waitUntil(`${fqdn} to be removed`, async () => (await sandbox.api('GET', `/services/${fqdn}`)).status === 404, 20_000).catch(() => undefined);
        }
      }
    });
  }
});
