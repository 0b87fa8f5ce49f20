/**
 * The guest configuration step: a firewall rule per service on each target guest whose firewall
 * is on, and the `exposed` tag on guests with at least one service. It runs on the work lock
 * holder only, after the guest step.
 */

import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { EXPOSED_TAG, type GuestConfigurator, type GuestRef } from '../pve/guest-config.js';
import type { GuestDirectory, GuestSummary } from '../pve/guests.js';
import type { Condition, StateDocument, StoredService } from '../store/model.js';
import { serviceTargets } from './guest-targets.js';

/** Addresses the guest firewall rules accept: every registered node's ingress addresses. */
export function ingressSources(state: StateDocument): string[] {
  const sources = new Set<string>();
  for (const node of state.clusterNodes ?? []) for (const address of node.ingressAddresses) sources.add(address);
  return [...sources].sort();
}

function guestRef(listing: readonly GuestSummary[], vmid: number): GuestRef | null {
  const guest = listing.find((item) => item.vmid === vmid);
  return guest === undefined ? null : { vmid, node: guest.node, type: guest.type };
}

/**
 * Adds or updates the service's rule on each target guest and tags the guests. Returns the
 * step's condition; throws on PVE API errors so the reconciler retries.
 */
export async function applyGuestConfig(
  config: GuestConfigurator,
  guests: GuestDirectory,
  service: StoredService,
  state: StateDocument,
  log: Logger,
  signal?: AbortSignal,
): Promise<Omit<Condition, 'time'>> {
  const listing = await guests.listGuests(signal);
  const sources = ingressSources(state);
  const notes: string[] = [];
  let rulesNeeded = false;
  for (const target of serviceTargets(service)) {
    const guest = guestRef(listing, target.vmid);
    if (guest === null) continue;
    await config.setExposedTag(guest, true, signal);
    if (!(await config.firewallEnabled(guest, signal))) {
      notes.push(`the firewall of guest ${guest.vmid} is off, so no rule was added`);
      continue;
    }
    rulesNeeded = true;
    if (sources.length === 0) {
      notes.push(`no rule on guest ${guest.vmid}: no node has registered an ingress address (set cluster.ingressAddresses)`);
      continue;
    }
    const outcome = await config.ensureServiceRule(guest, { fqdn: service.fqdn, port: target.port, sources }, signal);
    notes.push(`guest ${guest.vmid} accepts TCP ${target.port} from ${sources.join(', ')} (rule ${outcome})`);
  }
  log.debug({ notes }, 'guest configuration applied');
  const missingSources = rulesNeeded && sources.length === 0;
  return {
    type: 'guest-config',
    status: missingSources ? 'false' : 'true',
    reason: missingSources ? 'NoIngressAddress' : rulesNeeded ? 'FirewallRuleSet' : 'FirewallDisabled',
    message: `tagged ${EXPOSED_TAG}; ${notes.join('; ') || 'no target guest exists'}`,
  };
}

/**
 * Removes the service's rule from each target guest and the `exposed` tag from guests that no
 * other service targets. A guest that no longer exists is skipped.
 */
export async function removeGuestConfig(
  config: GuestConfigurator,
  guests: GuestDirectory,
  service: StoredService,
  state: StateDocument,
  signal?: AbortSignal,
): Promise<void> {
  const listing = await guests.listGuests(signal);
  const others = state.services.filter((item) => item.fqdn !== service.fqdn && !item.deleting);
  for (const target of serviceTargets(service)) {
    const guest = guestRef(listing, target.vmid);
    if (guest === null) continue;
    try {
      await config.removeServiceRule(guest, service.fqdn, signal);
    } catch (err) {
      // A guest destroyed between the listing and the call has no rules left to remove.
      if (!(err instanceof AppError) || !err.message.includes('does not exist')) throw err;
    }
    const stillExposed = others.some((item) => serviceTargets(item).some((other) => other.vmid === guest.vmid));
    if (!stillExposed) await config.setExposedTag(guest, false, signal);
  }
}
