import { configResponse } from '../containers.js';
import { handlerError } from '../errors.js';
import type { Parameters } from '../parameters.js';
import { agentInterfaces, agentUnavailableReason, vmListItem, type VmState } from '../vms.js';
import { NODE_PARAMETER, VMID_PARAMETER, type HandlerContext, type Route, type SimulatorState } from './route.js';

/** Loads a VM's state, failing like PVE when its config file does not exist on the node in the path (HTTP 500). */
function loadVm(state: SimulatorState, params: Parameters): VmState {
  const vmid = Number(params.vmid);
  const vm = state.vms.get(vmid);
  const node = typeof params.node === 'string' ? params.node : state.nodeName;
  if (vm === undefined || vm.node !== node) {
    throw handlerError(`Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
  }
  return vm;
}

function listVms({ params, authid, state }: HandlerContext): unknown {
  const now = state.now();
  return [...state.vms.values()]
    .filter((vm) => vm.node === params.node)
    .sort((a, b) => a.vmid - b.vmid)
    .filter((vm) => state.access.hasPrivilege(authid, `/vms/${vm.vmid}`, 'VM.Audit'))
    .map((vm) => vmListItem(vm, now));
}

function readConfig(context: HandlerContext): unknown {
  const vm = loadVm(context.state, context.params);
  if (context.params.snapshot !== undefined) {
    // The simulator keeps no snapshots, so every snapshot name is unknown.
    throw handlerError(`snapshot '${String(context.params.snapshot)}' does not exist`);
  }
  return configResponse(vm);
}

/**
 * `qm agent <vmid> network-get-interfaces`: qemu-server checks that the agent is configured, the
 * VM runs and the agent responds, and dies with a plain message (HTTP 500) otherwise. The agent's
 * response comes back unchanged inside `{ result }`.
 */
function readAgentInterfaces(context: HandlerContext): unknown {
  const vm = loadVm(context.state, context.params);
  const reason = agentUnavailableReason(vm);
  if (reason !== null) throw handlerError(reason);
  return { result: agentInterfaces(vm) };
}

const VM_PARAMETERS = { node: NODE_PARAMETER, vmid: VMID_PARAMETER } as const;

export const qemuRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu',
    parameters: { node: NODE_PARAMETER, full: { type: 'boolean', optional: true } },
    permissions: { user: 'all' },
    allowToken: true,
    proxyToNode: true,
    handle: listVms,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/config',
    parameters: {
      ...VM_PARAMETERS,
      current: { type: 'boolean', optional: true },
      snapshot: { type: 'string', optional: true, maxLength: 40, format: 'pve-configid' },
    },
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.Audit']] },
    allowToken: true,
    proxyToNode: true,
    handle: readConfig,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces',
    parameters: VM_PARAMETERS,
    // PVE 9 split VM.Monitor; PVE 8 asked for VM.Monitor here.
    permissions: { check: ['perm', '/vms/{vmid}', ['VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted'], 'any', 1] },
    allowToken: true,
    proxyToNode: true,
    handle: readAgentInterfaces,
  },
];
