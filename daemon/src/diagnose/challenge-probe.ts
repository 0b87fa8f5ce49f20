import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { challengeTarget, publishChallenge, type PublishedChallenge } from '../acme/challenge-records.js';
import type { CloudflareCredentials, ZoneDetails } from '../dns/cloudflare.js';
import { authoritativeAddresses } from '../dns/propagation.js';
import type { DnsProvider, DnsZone } from '../dns/provider.js';
import { AppError, errorMessage } from '../errors.js';
import { challengeRecordName, ownershipComment } from '../names.js';
import type { StoredDomain } from '../store/model.js';
import { newTokenFix } from './credentials.js';
import { skipped, type CheckOutcome } from './types.js';
import { queryTxt, type TxtAnswer } from './udp-query.js';

export interface ProbeSettings {
  clusterName: string;
  /** Resolvers for the NS lookup of the zone; empty = the system's. */
  resolvers: string[];
  /** Port on which the authoritative servers are asked (53 outside the sandbox). */
  authoritativePort: number;
  /** Maximum wait for every server to return the probe value. */
  waitMs: number;
  /** Pause between two rounds of queries. */
  intervalMs: number;
  /** Time allowed for deleting the probe record, also after the check timed out. */
  cleanupMs: number;
  logger: Logger;
}

export interface ProbeRequest {
  provider: DnsProvider;
  domain: StoredDomain;
  credentials: CloudflareCredentials;
  /** The zone that contains `name`, as the credentials check found it. */
  zone: ZoneDetails;
  /** The domain or service name whose `_acme-challenge` record is probed. */
  name: string;
}

export interface ProbeResult {
  dnsEdit: CheckOutcome;
  challenge: CheckOutcome;
}

/** Time one query may take; a server that stays silent is asked again in the next round. */
const queryTimeoutMs = 2_000;

interface Server {
  host: string;
  address: string;
}

function describeAnswer(answer: TxtAnswer | undefined, value: string): string {
  if (answer === undefined) return 'was not asked';
  switch (answer.kind) {
    case 'answer':
      return answer.values.includes(value) ? 'answers the probe value' : `answers other TXT values only (${answer.values.length})`;
    case 'missing':
      return `answers ${answer.rcode} without the record`;
    case 'refused':
      return 'REFUSED the query';
    case 'timeout':
      return 'did not answer over UDP';
    case 'error':
      return `failed with ${answer.rcode}`;
  }
}

/** Advice for the servers that lack the value, by the worst reason among them. */
function missingFix(lacking: Array<{ server: Server; answer: TxtAnswer | undefined }>, zone: ZoneDetails, port: number, waitMs: number): string {
  const assigned = zone.nameServers.map((host) => host.toLowerCase());
  const foreign = lacking.filter((item) => !assigned.includes(item.server.host.toLowerCase().replace(/\.$/, '')));
  if (foreign.length > 0) {
    return `${foreign.map((item) => item.server.host).join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not among the nameservers Cloudflare assigned to ${zone.name} (${zone.nameServers.join(', ')}). At the registrar, list only Cloudflare's nameservers; the CA may ask any listed server and then fails the challenge`;
  }
  if (lacking.some((item) => item.answer?.kind === 'timeout' || item.answer?.kind === 'error')) {
    return `Check that this node may send DNS queries to ${lacking.map((item) => item.server.address).join(', ')} on UDP port ${port} (firewall, outbound filtering); the CA asks these servers too`;
  }
  if (lacking.some((item) => item.answer?.kind === 'refused')) {
    return `The server does not serve zone ${zone.name}. At the registrar, set the nameservers of ${zone.name} to ${zone.nameServers.join(', ')}`;
  }
  return `Cloudflare's server did not publish the record within ${Math.round(waitMs / 1000)} s; Cloudflare publishes changes within 5 minutes. Run the diagnosis again later; if the server still lacks the record, check cloudflarestatus.com for DNS incidents`;
}

/** Deletes the probe record, with its own time limit so that it also runs after a timeout. */
async function removeProbe(request: ProbeRequest, published: PublishedChallenge, settings: ProbeSettings): Promise<string | null> {
  try {
    await request.provider.deleteRecord(published.zone, published.recordId, AbortSignal.timeout(settings.cleanupMs));
    return null;
  } catch (err) {
    settings.logger.warn({ zone: published.zone.name, record_id: published.recordId, record_name: published.recordName, err: errorMessage(err) }, 'diagnosis probe record left behind');
    return errorMessage(err);
  }
}

/**
 * Deletes a probe record whose create failed or was aborted. Cloudflare may have stored it
 * anyway, so the record is looked up by name and value.
 */
async function removeUnconfirmedProbe(request: ProbeRequest, target: { zone: DnsZone; name: string }, value: string, settings: ProbeSettings): Promise<void> {
  try {
    const signal = AbortSignal.timeout(settings.cleanupMs);
    const records = await request.provider.listRecords(target.zone, { name: target.name, type: 'TXT' }, signal);
    for (const record of records.filter((item) => item.content === value)) await request.provider.deleteRecord(target.zone, record.id, signal);
  } catch (err) {
    settings.logger.warn({ zone: target.zone.name, record_name: target.name, err: errorMessage(err) }, 'unable to check for a diagnosis probe record after a failed create');
  }
}

/** Queries every server until each returns `value` or the wait ends; returns the last response of each. */
async function pollServers(servers: Server[], name: string, value: string, settings: ProbeSettings, signal: AbortSignal): Promise<Map<string, TxtAnswer>> {
  const answers = new Map<string, TxtAnswer>();
  const visible = (server: Server): boolean => {
    const answer = answers.get(server.address);
    return answer?.kind === 'answer' && answer.values.includes(value);
  };
  const deadline = Date.now() + settings.waitMs;
  for (;;) {
    const pending = servers.filter((server) => !visible(server));
    const remaining = Math.max(100, deadline - Date.now());
    const results = await Promise.all(pending.map((server) => queryTxt(server.address, settings.authoritativePort, name, Math.min(queryTimeoutMs, remaining), signal)));
    pending.forEach((server, index) => answers.set(server.address, results[index] ?? { kind: 'timeout' }));
    if (servers.every(visible) || signal.aborted || Date.now() + settings.intervalMs >= deadline) return answers;
    await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
  }
}

/**
 * Writes a probe TXT record at the name's `_acme-challenge` record (or where its CNAME points,
 * as DNS-01 follows it), queries every authoritative server of the zone for it directly, and
 * deletes it. The create tests the DNS edit permission; the queries test what the CA will see. The
 * record carries the product's challenge comment, so a record left by a crash is removed by the
 * next start's sweep of leftover challenge records.
 * NOTE: an order running at the same name at that moment removes leftover challenge records
 * first and may delete the probe, which then reads as missing at every server.
 */
export async function runChallengeProbe(request: ProbeRequest, settings: ProbeSettings, signal: AbortSignal): Promise<ProbeResult> {
  const { zone, name, domain } = request;
  let target;
  try {
    target = await challengeTarget(request.provider, challengeRecordName(name), domain.name, signal);
  } catch (err) {
    const message = `Unable to find where ${challengeRecordName(name)} is written: ${errorMessage(err)}`;
    return { dnsEdit: { verdict: 'failed', message, fix: newTokenFix(domain.name, zone.name, request.credentials) }, challenge: skipped('Skipped because the probe record could not be written') };
  }

  const value = `pve-domains-diagnose-${randomBytes(8).toString('hex')}`;
  const comment = ownershipComment(settings.clusterName, 'acme', name);
  let published: PublishedChallenge;
  try {
    published = await publishChallenge(request.provider, target, value, comment, signal);
  } catch (err) {
    await removeUnconfirmedProbe(request, target, value, settings);
    const skip = skipped('Skipped because the probe record could not be written');
    if (err instanceof AppError && err.code === 'DNS_AUTH_FAILED') {
      const tokenName = request.credentials.kind === 'split' ? 'the DNS token (cloudflare-dns-token)' : 'the API token';
      return {
        dnsEdit: {
          verdict: 'failed',
          message: `Cloudflare rejected the creation of the probe TXT record ${target.name} in zone ${target.zone.name}: ${err.message}`,
          fix: `Grant ${tokenName} the permission Zone:DNS:Edit on ${target.zone.name} in the Cloudflare dashboard (My Profile > API Tokens > Edit). Without it no record can be published and no certificate issued`,
        },
        challenge: skip,
      };
    }
    return { dnsEdit: { verdict: 'failed', message: `Unable to create the probe TXT record ${target.name}: ${errorMessage(err)}`, fix: "Check the node's network connection to api.cloudflare.com and run the diagnosis again" }, challenge: skip };
  }

  // The record is deleted before an unexpected error of the queries is passed on.
  const probed = await probeServers(request, target, value, settings, signal).then(
    (outcome) => ({ outcome }),
    (err: unknown) => ({ error: err }),
  );
  const cleanupError = await removeProbe(request, published, settings);
  if ('error' in probed) throw probed.error;
  const challenge = probed.outcome;
  const created = `Created and deleted the probe TXT record ${target.name} in zone ${target.zone.name}`;
  const dnsEdit: CheckOutcome =
    cleanupError === null
      ? { verdict: 'ok', message: created }
      : {
          verdict: 'warning',
          message: `Created the probe TXT record ${target.name} (id ${published.recordId}) but could not delete it: ${cleanupError}`,
          fix: `Delete the TXT record ${target.name} with the value ${value} in the Cloudflare dashboard (DNS > Records)`,
        };
  return { dnsEdit, challenge };
}

async function probeServers(request: ProbeRequest, target: { zone: DnsZone; name: string }, value: string, settings: ProbeSettings, signal: AbortSignal): Promise<CheckOutcome> {
  const { zone } = request;
  if (target.zone.id === zone.id && zone.status !== 'active') {
    return skipped(`Skipped because zone ${zone.name} is ${zone.status}: the CA resolves the challenge through the nameservers the registrar lists, not Cloudflare's`);
  }
  let servers: Server[];
  try {
    servers = await authoritativeAddresses(target.zone, { resolvers: settings.resolvers, authoritativePort: settings.authoritativePort, timeoutMs: settings.waitMs, intervalMs: settings.intervalMs, logger: settings.logger });
  } catch (err) {
    return { verdict: 'failed', message: errorMessage(err), fix: `Check that the resolvers of this node (dns.resolvers in /etc/pve-domains/pve-domainsd.json, else /etc/resolv.conf) respond to NS queries for ${target.zone.name}` };
  }
  const started = Date.now();
  const answers = await pollServers(servers, target.name, value, settings, signal);
  const report = servers.map((server) => ({ server, answer: answers.get(server.address) }));
  const lacking = report.filter((item) => !(item.answer?.kind === 'answer' && item.answer.values.includes(value)));
  const list = (items: typeof report): string => items.map((item) => `${item.server.host} (${item.server.address})`).join(', ');
  if (lacking.length === 0) {
    return { verdict: 'ok', message: `All ${servers.length} authoritative servers of zone ${target.zone.name} return the probe TXT record at ${target.name}: ${list(report)}, after ${Date.now() - started} ms` };
  }
  const details = lacking.map((item) => `${item.server.host} (${item.server.address}) ${describeAnswer(item.answer, value)}`).join('; ');
  const answering = report.filter((item) => !lacking.includes(item));
  const others = answering.length === 0 ? '' : `; ${list(answering)} ${answering.length === 1 ? 'answers' : 'answer'} it`;
  return {
    verdict: 'failed',
    message: `${lacking.length} of ${servers.length} authoritative servers of zone ${target.zone.name} lack the probe TXT record at ${target.name} after ${Math.round((Date.now() - started) / 1000)} s: ${details}${others}`,
    fix: missingFix(lacking, zone, settings.authoritativePort, settings.waitMs),
  };
}
