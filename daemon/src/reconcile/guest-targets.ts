import { connect } from 'node:net';

import { AppError } from '../errors.js';
import type { RouteTarget } from '../proxy/ingress.js';
import type { GuestDirectory, GuestSummary } from '../pve/guests.js';
import type { Condition, ObservedTarget, ServiceTarget, StoredService } from '../store/model.js';

/**
 * Turns a service's guest targets (vmid + port) into proxy targets. The outcome of the guest step
 * is one condition: true when every guest runs, false with reason GuestStopped, GuestDestroyed or
 * AddressConflict otherwise. A stopped or destroyed guest keeps the route with its last address
 * in maintenance, so requests get a 503 and nothing is deleted.
 */

export interface ResolvedTargets {
  observed: ObservedTarget[];
  /** Targets to route; a target whose address another guest claims is left out. */
  routeTargets: RouteTarget[];
  /** No running guest with an address, so the route returns the maintenance page. */
  maintenance: boolean;
  condition: Omit<Condition, 'time'>;
  /** Targets whose address was not used before, for the reachability check. */
  newTargets: RouteTarget[];
}

export function serviceTargets(service: StoredService): ServiceTarget[] {
  return [{ vmid: service.vmid, port: service.port, ...service.pin }, ...(service.extraTargets ?? [])];
}

/** Resolves every target of `service` with one guest listing, checking new addresses for claims of other guests. */
export async function resolveServiceTargets(guests: GuestDirectory, service: StoredService, signal?: AbortSignal): Promise<ResolvedTargets> {
  const listing: GuestSummary[] = await guests.listGuests(signal);
  const previous = service.observed.targets ?? [];
  const observed: ObservedTarget[] = [];
  const candidates: Array<RouteTarget & { running: boolean }> = [];
  const newTargets: RouteTarget[] = [];
  const problems: Array<{ reason: string; message: string }> = [];

  for (const target of serviceTargets(service)) {
    const last = previous.find((item) => item.vmid === target.vmid && item.port === target.port);
    let resolved;
    try {
      resolved = await guests.resolveGuest(target.vmid, target, signal, listing);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'GUEST_NOT_FOUND') throw err;
      observed.push({ vmid: target.vmid, port: target.port, node: null, address: last?.address ?? null, guest: 'missing' });
      problems.push({ reason: 'GuestDestroyed', message: `guest ${target.vmid} no longer exists; nothing was deleted: delete the service or point it at another guest` });
      continue;
    }

    const address = resolved.address ?? last?.address ?? null;
    observed.push({ vmid: target.vmid, port: target.port, node: resolved.node, address, guest: resolved.running ? 'running' : 'stopped' });
    if (!resolved.running) problems.push({ reason: 'GuestStopped', message: `guest stopped: ${target.vmid} on node ${resolved.node} is not running; the service answers 503 with a maintenance page` });
    if (address === null) {
      if (resolved.running) problems.push({ reason: 'GuestNoAddress', message: `guest ${target.vmid} on node ${resolved.node} reports no address yet; give it a static ip or pin an address` });
      continue;
    }

    if (address !== last?.address && resolved.source !== 'pinned') {
      const claims = await guests.claimsOf(address, target.vmid, signal, listing);
      if (claims.length > 0) {
        problems.push({ reason: 'AddressConflict', message: `address ${address} of guest ${target.vmid} is also claimed by guest ${claims.join(', ')}; not routed until only one guest claims it` });
        continue;
      }
      newTargets.push({ address, port: target.port });
    }
    candidates.push({ address, port: target.port, running: resolved.running });
  }

  // Running guests take the traffic; with none running, every known address stays in maintenance.
  const running = candidates.some((item) => item.running);
  const routeTargets = candidates.filter((item) => item.running || !running).map((item) => ({ address: item.address, port: item.port }));
  const first = problems[0];
  const condition: Omit<Condition, 'time'> =
    first === undefined
      ? { type: 'guest', status: 'true', reason: 'AddressResolved', message: observed.map((item) => `guest ${item.vmid} on node ${item.node ?? '?'} at ${item.address ?? '?'}:${item.port}`).join('; ') }
      : { type: 'guest', status: 'false', reason: first.reason, message: problems.map((item) => item.message).join('; ') };
  return { observed, routeTargets, maintenance: !running, condition, newTargets };
}

/** Opens a TCP connection to `target` and closes it; resolves false on refusal or after `timeoutMs`. */
export function checkReachable(target: RouteTarget, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.address, port: target.port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
