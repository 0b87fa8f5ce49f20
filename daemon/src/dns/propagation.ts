import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { DnsZone } from './provider.js';

export interface PropagationSettings {
  /** Resolvers used to find the zone's name servers and their addresses; empty = the system's. */
  resolvers: string[];
  /** Port on which the authoritative servers are asked (53 outside the sandbox). */
  authoritativePort: number;
  timeoutMs: number;
  intervalMs: number;
  /**
   * After the timeout, return instead of failing when every server still missing the value
   * refused or did not answer: the check could not be made, so the CA is asked to validate anyway.
   */
  validateWhenUnreachable?: boolean;
  logger: Logger;
}

/** Per-query timeout; one try, since the caller polls anyway. */
const queryTimeoutMs = 2_000;

function serverAddress(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A fresh resolver for every lookup: c-ares keeps a query cache per channel (since c-ares 1.23),
 * which would hold a negative answer for the zone's SOA minimum TTL while we poll.
 */
function resolverFor(servers: string[]): Resolver {
  const resolver = new Resolver({ timeout: queryTimeoutMs, tries: 1 });
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}

/** Finds the addresses of the zone's authoritative name servers by NS lookup. */
export async function authoritativeAddresses(zone: DnsZone, settings: PropagationSettings): Promise<Array<{ host: string; address: string }>> {
  let hosts: string[];
  try {
    hosts = await resolverFor(settings.resolvers).resolveNs(zone.name);
  } catch (err) {
    if (zone.nameServers.length === 0) {
      throw new AppError('DNS_PROPAGATION_TIMEOUT', `Unable to find the name servers of zone ${zone.name}: NS lookup failed (${(err as Error).message}); check that the domain is delegated to its DNS provider`, { cause: err });
    }
    settings.logger.warn({ zone: zone.name, err }, 'ns lookup failed, using the name servers the provider reports');
    hosts = zone.nameServers;
  }
  const found: Array<{ host: string; address: string }> = [];
  for (const host of hosts) {
    const resolver = resolverFor(settings.resolvers);
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    for (const result of [v4, v6]) {
      if (result.status === 'fulfilled') for (const address of result.value) found.push({ host, address });
    }
  }
  if (found.length === 0) {
    throw new AppError('DNS_PROPAGATION_TIMEOUT', `Unable to resolve the addresses of the name servers of zone ${zone.name} (${hosts.join(', ')}); check the node's resolver`);
  }
  return found;
}

type ServerState = 'visible' | 'missing' | 'refused' | 'servfail' | 'timeout' | 'error';

async function checkServer(address: string, port: number, name: string, value: string): Promise<ServerState> {
  try {
    const records = await resolverFor([serverAddress(address, port)]).resolveTxt(name);
    return records.some((chunks) => chunks.join('') === value) ? 'visible' : 'missing';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return 'missing';
    if (code === 'EREFUSED') return 'refused';
    if (code === 'ESERVFAIL') return 'servfail';
    if (code === 'ETIMEOUT') return 'timeout';
    return 'error';
  }
}

/**
 * Waits until every authoritative server of `zone` answers `value` among the TXT records of
 * `name`. On timeout the error names each server's last state, so that a server that refuses
 * or does not answer is not reported as "not propagated". Returns null once the value is
 * visible, or the servers' states when it gives up on unreachable servers and lets the CA
 * validate anyway (`validateWhenUnreachable`).
 */
export async function waitForTxtRecord(zone: DnsZone, name: string, value: string, settings: PropagationSettings, signal?: AbortSignal): Promise<string | null> {
  const servers = await authoritativeAddresses(zone, settings);
  const deadline = Date.now() + settings.timeoutMs;
  const states = new Map<string, ServerState>();
  for (;;) {
    signal?.throwIfAborted();
    const pending = servers.filter((server) => states.get(server.address) !== 'visible');
    const results = await Promise.all(pending.map((server) => checkServer(server.address, settings.authoritativePort, name, value)));
    pending.forEach((server, index) => states.set(server.address, results[index] ?? 'error'));
    if (servers.every((server) => states.get(server.address) === 'visible')) {
      settings.logger.debug({ zone: zone.name, record_name: name, servers: servers.length }, 'txt record visible at every authoritative server');
      return null;
    }
    if (Date.now() + settings.intervalMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
  }
  const report = servers.map((server) => `${server.host} (${server.address}): ${describeState(states.get(server.address) ?? 'error')}`).join(', ');
  const missing = servers.filter((server) => states.get(server.address) !== 'visible');
  const unreachable = missing.every((server) => states.get(server.address) !== 'missing');
  if (unreachable && settings.validateWhenUnreachable === true) {
    settings.logger.warn({ zone: zone.name, record_name: name, servers: report }, 'authoritative dns unreachable for the propagation check, asking the ca to validate anyway');
    return report;
  }
  throw new AppError('DNS_PROPAGATION_TIMEOUT', `Timed out after ${settings.timeoutMs} ms waiting for TXT ${name} at the authoritative servers of ${zone.name}: ${report}; raise dns.propagationTimeoutMs or check the servers`);
}

function describeState(state: ServerState): string {
  switch (state) {
    case 'visible':
      return 'answers the value';
    case 'missing':
      return 'does not answer the value yet';
    case 'refused':
      return 'REFUSED the query';
    case 'servfail':
      return 'answered SERVFAIL';
    case 'timeout':
      return 'did not answer (timeout)';
    case 'error':
      return 'failed to answer';
  }
}
