/**
 * Guest configuration through the PVE API: one firewall rule per exposed service and the
 * `exposed` tag on guests with at least one service. Every change passes the `digest` PVE
 * returned, so after a concurrent edit PVE returns "detected modified configuration" and the
 * change is read again and retried instead of overwriting the other edit.
 */

import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { createPveApi, type PveApi } from './api-client.js';

/** Tag put on guests that have at least one service. */
export const EXPOSED_TAG = 'exposed';
/** Prefix of the comment that marks a firewall rule as this product's, followed by the service name. */
export const RULE_COMMENT_PREFIX = 'pve-domains:';

/** PVE tag syntax (pve-common `JSONSchema.pm` `pve-tag`), case-insensitive. */
const TAG_PATTERN = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
/** Attempts of one change when PVE reports a concurrent edit. */
const DIGEST_ATTEMPTS = 5;

export interface GuestRef {
  vmid: number;
  node: string;
  type: 'lxc' | 'qemu';
}

/** The rule a service needs: TCP to `port` from the ingress nodes' `sources`. */
export interface ServiceRule {
  fqdn: string;
  port: number;
  sources: string[];
}

export type RuleOutcome = 'created' | 'replaced' | 'present' | 'firewall-disabled';

/** Guest configuration as the reconciler uses it; only modules under `pve/` know the API paths. */
export interface GuestConfigurator {
  /** Whether the guest's own firewall is enabled (`firewall/options` `enable`). */
  firewallEnabled(guest: GuestRef, signal?: AbortSignal): Promise<boolean>;
  /** Adds the service's rule when the guest firewall is on, or replaces it when it differs. */
  ensureServiceRule(guest: GuestRef, rule: ServiceRule, signal?: AbortSignal): Promise<RuleOutcome>;
  /** Removes the service's rule, found by its comment. Returns whether a rule was removed. */
  removeServiceRule(guest: GuestRef, fqdn: string, signal?: AbortSignal): Promise<boolean>;
  /** Adds (`present` true) or removes the `exposed` tag, keeping every other tag. Returns whether it changed. */
  setExposedTag(guest: GuestRef, present: boolean, signal?: AbortSignal): Promise<boolean>;
}

export interface FirewallRuleItem {
  pos: number;
  type?: string;
  action?: string;
  enable?: number;
  comment?: string;
  source?: string;
  dport?: string | number;
  proto?: string;
  digest?: string;
}

type Params = Record<string, string | number>;

/** The part of the proxmox-api client used here; lxc and qemu guests share these paths. */
interface GuestEndpoint {
  config: { $get(): Promise<Record<string, unknown>>; $put(params: Params): Promise<unknown> };
  firewall: {
    options: { $get(): Promise<{ enable?: number | boolean }> };
    rules: {
      $get(): Promise<FirewallRuleItem[]>;
      $post(params: Params): Promise<unknown>;
      $(pos: number): { $delete(params: Params): Promise<unknown> };
    };
  };
}

/** The comment that marks the rule of `fqdn`. */
export function ruleComment(fqdn: string): string {
  return `${RULE_COMMENT_PREFIX}${fqdn}`;
}

/** Splits a stored tag list as PVE accepts it: separated by `;`, `,` or spaces. */
export function parseTags(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return value.split(/[;,\s]+/).filter((tag) => tag !== '');
}

/**
 * Returns the tag list with the `exposed` tag added or removed and every other tag kept in
 * its order; null when nothing changes. Tags are compared case-insensitively, as PVE does by
 * default. Tags that break PVE's syntax are kept as they are: PVE validates the whole list.
 */
export function editTags(current: readonly string[], present: boolean): string[] | null {
  const has = current.some((tag) => tag.toLowerCase() === EXPOSED_TAG);
  if (has === present) return null;
  if (present) {
    if (!TAG_PATTERN.test(EXPOSED_TAG)) throw new Error(`invalid tag ${EXPOSED_TAG}`);
    return [...current, EXPOSED_TAG];
  }
  return current.filter((tag) => tag.toLowerCase() !== EXPOSED_TAG);
}

/** Whether a stored rule already matches what the service needs. */
export function ruleMatches(item: FirewallRuleItem, rule: ServiceRule): boolean {
  return (
    item.type === 'in' &&
    item.action === 'ACCEPT' &&
    Number(item.enable) === 1 &&
    item.proto === 'tcp' &&
    String(item.dport) === String(rule.port) &&
    (item.source ?? '') === [...rule.sources].sort().join(',')
  );
}

function isDigestConflict(err: unknown): boolean {
  return err instanceof Error && err.message.includes('detected modified configuration');
}

function translate(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  return new AppError('PVE_API_FAILED', `Unable to ${action} through the PVE API: ${(err as Error).message}; check that the daemon's API token has VM.Config.Network and VM.Config.Options on the guest`, { cause: err });
}

export interface PveGuestConfigSettings {
  /** Base URL of the PVE API, such as https://127.0.0.1:8006. */
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  /** Time after which one request is abandoned; 15 s when absent. */
  timeoutMs?: number;
  logger: Logger;
}

export class PveGuestConfig implements GuestConfigurator {
  private readonly api: PveApi;
  private readonly logger: Logger;

  constructor(settings: PveGuestConfigSettings) {
    this.api = createPveApi(settings);
    this.logger = settings.logger.child({ subsystem: 'guest-config' });
  }

  private endpoint(guest: GuestRef): GuestEndpoint {
    const node = this.api.nodes.$(guest.node);
    const target = guest.type === 'lxc' ? node.lxc.$(guest.vmid) : node.qemu.$(guest.vmid);
    return target as unknown as GuestEndpoint;
  }

  async firewallEnabled(guest: GuestRef, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    try {
      const options = await this.endpoint(guest).firewall.options.$get();
      return Number(options.enable ?? 0) === 1;
    } catch (err) {
      throw translate(err, `read the firewall options of guest ${guest.vmid}`);
    }
  }

  async ensureServiceRule(guest: GuestRef, rule: ServiceRule, signal?: AbortSignal): Promise<RuleOutcome> {
    if (!(await this.firewallEnabled(guest, signal))) return 'firewall-disabled';
    const rules = this.endpoint(guest).firewall.rules;
    const comment = ruleComment(rule.fqdn);
    let replaced = false;
    for (let attempt = 1; attempt <= DIGEST_ATTEMPTS; attempt += 1) {
      signal?.throwIfAborted();
      try {
        const existing = (await rules.$get()).find((item) => item.comment === comment);
        if (existing !== undefined && ruleMatches(existing, rule)) return replaced ? 'replaced' : 'present';
        if (existing !== undefined) {
          await rules.$(existing.pos).$delete({ digest: existing.digest ?? '' });
          replaced = true;
          continue;
        }
        // PVE inserts new rules at position 0 and leaves them disabled unless enable=1 is sent.
        await rules.$post({ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: String(rule.port), source: [...rule.sources].sort().join(','), enable: 1, comment });
        this.logger.info({ vmid: guest.vmid, service: rule.fqdn, port: rule.port, sources: rule.sources }, 'firewall rule added');
        return replaced ? 'replaced' : 'created';
      } catch (err) {
        if (isDigestConflict(err) && attempt < DIGEST_ATTEMPTS) {
          this.logger.info({ vmid: guest.vmid, attempt }, 'firewall rules changed concurrently; reading them again');
          continue;
        }
        throw translate(err, `add the firewall rule of ${rule.fqdn} to guest ${guest.vmid}`);
      }
    }
    throw new AppError('PVE_API_FAILED', `The firewall rules of guest ${guest.vmid} kept changing during ${DIGEST_ATTEMPTS} attempts to add the rule of ${rule.fqdn}; the next pass retries`);
  }

  async removeServiceRule(guest: GuestRef, fqdn: string, signal?: AbortSignal): Promise<boolean> {
    const rules = this.endpoint(guest).firewall.rules;
    const comment = ruleComment(fqdn);
    for (let attempt = 1; attempt <= DIGEST_ATTEMPTS; attempt += 1) {
      signal?.throwIfAborted();
      try {
        const existing = (await rules.$get()).find((item) => item.comment === comment);
        if (existing === undefined) return false;
        await rules.$(existing.pos).$delete({ digest: existing.digest ?? '' });
        this.logger.info({ vmid: guest.vmid, service: fqdn, pos: existing.pos }, 'firewall rule removed');
        return true;
      } catch (err) {
        if (isDigestConflict(err) && attempt < DIGEST_ATTEMPTS) continue;
        throw translate(err, `remove the firewall rule of ${fqdn} from guest ${guest.vmid}`);
      }
    }
    throw new AppError('PVE_API_FAILED', `The firewall rules of guest ${guest.vmid} kept changing during ${DIGEST_ATTEMPTS} attempts to remove the rule of ${fqdn}; the next pass retries`);
  }

  async setExposedTag(guest: GuestRef, present: boolean, signal?: AbortSignal): Promise<boolean> {
    const config = this.endpoint(guest).config;
    for (let attempt = 1; attempt <= DIGEST_ATTEMPTS; attempt += 1) {
      signal?.throwIfAborted();
      try {
        const current = await config.$get();
        const next = editTags(parseTags(current['tags']), present);
        if (next === null) return false;
        const digest = typeof current['digest'] === 'string' ? current['digest'] : '';
        await config.$put(next.length === 0 ? { delete: 'tags', digest } : { tags: next.join(';'), digest });
        this.logger.info({ vmid: guest.vmid, tag: EXPOSED_TAG, present }, 'guest tag changed');
        return true;
      } catch (err) {
        if (isDigestConflict(err) && attempt < DIGEST_ATTEMPTS) continue;
        throw translate(err, `${present ? 'add' : 'remove'} the ${EXPOSED_TAG} tag of guest ${guest.vmid}`);
      }
    }
    throw new AppError('PVE_API_FAILED', `The configuration of guest ${guest.vmid} kept changing during ${DIGEST_ATTEMPTS} attempts to change its tags; the next pass retries`);
  }
}
