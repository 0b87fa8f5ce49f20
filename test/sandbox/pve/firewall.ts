import { createHash } from 'node:crypto';

import type { Parameters } from './parameters.js';

/** A guest firewall rule as stored: only the fields that were set. */
export type FirewallRule = Record<string, string | number>;

/** Rule fields a create request copies into the rule (pve-firewall `Firewall.pm` rule properties). */
export const RULE_FIELDS: readonly string[] = [
  'type', 'action', 'enable', 'comment', 'source', 'dest', 'sport', 'dport', 'proto', 'macro',
  'iface', 'log', 'icmp-type',
];

/**
 * Digest of a rule list as pve-firewall `copy_list_with_digest` computes it: SHA-1 over
 * `key:value\n` of every rule's fields in sorted key order, rule after rule.
 */
export function rulesDigest(rules: readonly FirewallRule[]): string {
  const sha = createHash('sha1');
  for (const rule of rules) {
    for (const key of Object.keys(rule).sort()) {
      sha.update(`${key}:${String(rule[key])}\n`, 'utf8');
    }
  }
  return sha.digest('hex');
}

/** Lists rules as `GET .../firewall/rules` returns them: each with its position and the list digest. */
export function listRules(rules: readonly FirewallRule[]): FirewallRule[] {
  const digest = rulesDigest(rules);
  return rules.map((rule, pos) => ({ ...rule, pos, digest }));
}

/**
 * Builds a rule from create parameters: an empty value or '-' leaves a field unset, and `enable`
 * defaults to 0, so a rule created without `enable=1` is disabled (pve-firewall `create_rule`).
 */
export function ruleFromParameters(values: Parameters): FirewallRule {
  const rule: FirewallRule = {};
  for (const field of RULE_FIELDS) {
    const value = values[field];
    if (value === undefined || value === '' || value === '-') continue;
    rule[field] = value;
  }
  if (values.enable === undefined) rule.enable = 0;
  return rule;
}

/** Option keys of a guest firewall (pve-firewall `Firewall.pm` `$vm_option_properties`). */
export const OPTION_FIELDS: readonly string[] = [
  'enable', 'policy_in', 'policy_out', 'dhcp', 'ndp', 'radv', 'macfilter', 'ipfilter', 'log_level_in', 'log_level_out',
];

/** Digest of the guest's firewall options: SHA-1 over sorted `key:value` lines. */
export function optionsDigest(options: ReadonlyMap<string, string | number>): string {
  const sha = createHash('sha1');
  for (const key of [...options.keys()].sort()) sha.update(`${key}:${String(options.get(key))}\n`, 'utf8');
  return sha.digest('hex');
}

/** Options as `GET .../firewall/options` returns them: only the keys that are set, plus `digest`. */
export function optionsResponse(options: ReadonlyMap<string, string | number>): Record<string, string | number> {
  return { ...Object.fromEntries(options), digest: optionsDigest(options) };
}
