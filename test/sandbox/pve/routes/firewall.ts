import { assertDigest, handlerError } from '../errors.js';
import { listRules, OPTION_FIELDS, optionsDigest, optionsResponse, ruleFromParameters, rulesDigest } from '../firewall.js';
import { splitList } from '../parameters.js';
import type { ParameterSchema } from '../parameters.js';
import { loadContainer } from './lxc.js';
import { NODE_PARAMETER, VMID_PARAMETER, type HandlerContext, type Route } from './route.js';

const POSITION_PARAMETER: ParameterSchema = { type: 'integer', optional: true, minimum: 0 };
const DIGEST_PARAMETER: ParameterSchema = { type: 'string', optional: true, maxLength: 64 };

function listContainerRules(context: HandlerContext): unknown {
  return listRules(loadContainer(context.state, context.params).firewallRules);
}

function readRule(context: HandlerContext): unknown {
  const rules = listRules(loadContainer(context.state, context.params).firewallRules);
  const pos = Number(context.params.pos);
  const rule = rules[pos];
  if (rule === undefined) throw handlerError(`no rule at position ${pos}`);
  return rule;
}

/** Inserts the rule at the top; pve-firewall `create_rule` ignores `pos` and does not check `digest` here. */
function createRule(context: HandlerContext): unknown {
  const container = loadContainer(context.state, context.params);
  container.firewallRules.unshift(ruleFromParameters(context.params));
  return null;
}

function deleteRule(context: HandlerContext): unknown {
  const container = loadContainer(context.state, context.params);
  assertDigest(rulesDigest(container.firewallRules), context.params.digest);
  const pos = Number(context.params.pos);
  if (pos >= container.firewallRules.length) throw handlerError(`no rule at position ${pos}`);
  container.firewallRules.splice(pos, 1);
  return null;
}

const CONTAINER_PARAMETERS = { node: NODE_PARAMETER, vmid: VMID_PARAMETER } as const;

function readOptions(context: HandlerContext): unknown {
  return optionsResponse(loadContainer(context.state, context.params).firewallOptions);
}

/** Sets and deletes option keys after checking `digest`, as pve-firewall `update_options` does. */
function updateOptions(context: HandlerContext): unknown {
  const { params } = context;
  const container = loadContainer(context.state, params);
  assertDigest(optionsDigest(container.firewallOptions), params.digest);
  const deletions = params.delete === undefined ? [] : splitList(String(params.delete));
  for (const key of deletions) container.firewallOptions.delete(key);
  for (const key of OPTION_FIELDS) {
    const value = params[key];
    if (value !== undefined) container.firewallOptions.set(key, value);
  }
  return null;
}

const BOOLEAN_OPTION: ParameterSchema = { type: 'boolean', optional: true };


// NOTE: the simulator does not run pve-firewall's `verify_rule`: macros, ipsets, aliases and
// `iface` names are stored as given, and `ipversion` is never filled in.
export const firewallRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/firewall/options',
    parameters: CONTAINER_PARAMETERS,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    allowToken: true,
    // Unlike the rule methods, the option methods are proxied to the guest's node.
    proxyToNode: true,
    handle: readOptions,
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/lxc/{vmid}/firewall/options',
    parameters: {
      ...CONTAINER_PARAMETERS,
      enable: BOOLEAN_OPTION,
      policy_in: { type: 'string', optional: true, enum: ['ACCEPT', 'REJECT', 'DROP'] },
      policy_out: { type: 'string', optional: true, enum: ['ACCEPT', 'REJECT', 'DROP'] },
      dhcp: BOOLEAN_OPTION,
      ndp: BOOLEAN_OPTION,
      radv: BOOLEAN_OPTION,
      macfilter: BOOLEAN_OPTION,
      ipfilter: BOOLEAN_OPTION,
      log_level_in: { type: 'string', optional: true, enum: ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'] },
      log_level_out: { type: 'string', optional: true, enum: ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'] },
      delete: { type: 'string', optional: true, format: 'pve-configid-list' },
      digest: DIGEST_PARAMETER,
    },
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Config.Network']] },
    allowToken: true,
    proxyToNode: true,
    handle: updateOptions,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/firewall/rules',
    parameters: CONTAINER_PARAMETERS,
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    allowToken: true,
    proxyToNode: false,
    handle: listContainerRules,
  },
  {
    method: 'POST',
    path: '/nodes/{node}/lxc/{vmid}/firewall/rules',
    parameters: {
      ...CONTAINER_PARAMETERS,
      type: { type: 'string', enum: ['in', 'out', 'forward', 'group'] },
      action: { type: 'string', minLength: 2, maxLength: 20, pattern: '[A-Za-z][A-Za-z0-9\\-\\_]+' },
      enable: { type: 'integer', optional: true, minimum: 0 },
      comment: { type: 'string', optional: true },
      source: { type: 'string', optional: true, maxLength: 512, format: 'pve-fw-addr-spec' },
      dest: { type: 'string', optional: true, maxLength: 512, format: 'pve-fw-addr-spec' },
      sport: { type: 'string', optional: true, format: 'pve-fw-sport-spec' },
      dport: { type: 'string', optional: true, format: 'pve-fw-dport-spec' },
      proto: { type: 'string', optional: true, format: 'pve-fw-protocol-spec' },
      macro: { type: 'string', optional: true, maxLength: 128 },
      iface: { type: 'string', optional: true, minLength: 2, maxLength: 20, format: 'pve-iface' },
      log: { type: 'string', optional: true, enum: ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'] },
      'icmp-type': { type: 'string', optional: true, format: 'pve-fw-icmp-type-spec' },
      pos: POSITION_PARAMETER,
      digest: DIGEST_PARAMETER,
    },
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Config.Network']] },
    allowToken: true,
    proxyToNode: false,
    handle: createRule,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/firewall/rules/{pos}',
    parameters: { ...CONTAINER_PARAMETERS, pos: POSITION_PARAMETER },
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    allowToken: true,
    proxyToNode: false,
    handle: readRule,
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/lxc/{vmid}/firewall/rules/{pos}',
    parameters: { ...CONTAINER_PARAMETERS, pos: POSITION_PARAMETER, digest: DIGEST_PARAMETER },
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Config.Network']] },
    allowToken: true,
    proxyToNode: false,
    handle: deleteRule,
  },
];
