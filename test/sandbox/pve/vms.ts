import { isIPv4 } from 'node:net';

import { macAddress, normalizeTags, type ConfigValue } from './containers.js';
import type { SimVm } from './types.js';

/** One simulated QEMU VM: its config, run state and what its guest agent reports. */
export interface VmState {
  readonly vmid: number;
  node: string;
  /** The IPv4 address the guest agent reports on the VM's first NIC. */
  address: string;
  readonly port: number;
  status: 'running' | 'stopped';
  /** Whether the qemu-guest-agent service inside the VM responds. */
  agentRunning: boolean;
  /** Milliseconds since the epoch when the VM last started. */
  startedAt: number;
  /** Config keys without `digest`, as `qm config` returns them. */
  config: Map<string, ConfigValue>;
}

const LOOPBACK_RE = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const MEMORY_MB = 2048;
const DISK_BYTES = 32 * 1024 ** 3;
/** Interface name a Debian guest gives the first virtio NIC on PVE's default machine type. */
const GUEST_NIC_NAME = 'ens18';

export function createVmState(vm: SimVm, now: number, node: string): VmState {
  if (!Number.isInteger(vm.vmid) || vm.vmid < 100 || vm.vmid > 999_999_999) {
    throw new Error(`invalid vmid ${vm.vmid}: PVE guest ids are integers from 100 to 999999999`);
  }
  if (!LOOPBACK_RE.test(vm.address) || !isIPv4(vm.address)) {
    throw new Error(`invalid address '${vm.address}' for VM ${vm.vmid}: use a 127.0.0.x loopback address`);
  }
  // A QEMU NIC has no address in its config: `netN` names the model with the MAC as its value.
  const config = new Map<string, ConfigValue>([
    ['boot', 'order=scsi0;net0'],
    ['cores', 2],
    ['memory', String(MEMORY_MB)],
    ['name', vm.name],
    ['net0', `virtio=${macAddress(vm.vmid)},bridge=vmbr0,firewall=1`],
    ['ostype', 'l26'],
    ['scsi0', `local-lvm:vm-${vm.vmid}-disk-0,iothread=1,size=32G`],
    ['scsihw', 'virtio-scsi-single'],
    ['sockets', 1],
  ]);
  if (vm.agent !== false) config.set('agent', '1');
  const tags = normalizeTags(vm.tags ?? []);
  if (tags.length > 0) config.set('tags', tags.join(';'));
  return {
    vmid: vm.vmid,
    node,
    address: vm.address,
    port: vm.port,
    status: vm.status ?? 'running',
    agentRunning: vm.agentRunning ?? true,
    startedAt: now,
    config,
  };
}

/**
 * Returns whether the `agent` property string enables the agent. Its default key is `enabled`,
 * so `1`, `enabled=1` and `1,fstrim_cloned_disks=1` all enable it (qemu-server `$agent_fmt`).
 */
export function agentEnabled(state: VmState): boolean {
  const value = state.config.get('agent');
  if (value === undefined) return false;
  const first = String(value).split(',')[0] ?? '';
  const enabled = first.startsWith('enabled=') ? first.slice('enabled='.length) : first.includes('=') ? '0' : first;
  return enabled === '1' || enabled === 'yes' || enabled === 'on' || enabled === 'true';
}

/**
 * Returns the error text qemu-server's `agent_available` dies with before it asks the agent, or
 * null when the agent would answer. PVE sends it as HTTP 500 with the text as message.
 */
export function agentUnavailableReason(state: VmState): string | null {
  if (!agentEnabled(state)) return 'No QEMU guest agent configured';
  if (state.status !== 'running') return `VM ${state.vmid} is not running`;
  if (!state.agentRunning) return 'QEMU guest agent is not running';
  return null;
}

interface AgentAddress {
  'ip-address': string;
  'ip-address-type': 'ipv4' | 'ipv6';
  prefix: number;
}

/**
 * Builds the `result` of `guest-network-get-interfaces` as the QEMU guest agent returns it:
 * `ipv4`/`ipv6` address types (unlike LXC's `inet`/`inet6`), lower-case MACs, and statistics.
 */
export function agentInterfaces(state: VmState): Array<Record<string, unknown>> {
  const statistics = { 'rx-bytes': 4096, 'rx-dropped': 0, 'rx-errs': 0, 'rx-packets': 32, 'tx-bytes': 2048, 'tx-dropped': 0, 'tx-errs': 0, 'tx-packets': 16 };
  const loopback: AgentAddress[] = [
    { 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 },
    { 'ip-address': '::1', 'ip-address-type': 'ipv6', prefix: 128 },
  ];
  const nic: AgentAddress[] = [
    { 'ip-address': state.address, 'ip-address-type': 'ipv4', prefix: 8 },
    { 'ip-address': 'fe80::be24:11ff:fe00:1', 'ip-address-type': 'ipv6', prefix: 64 },
  ];
  return [
    { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': loopback, statistics },
    { name: GUEST_NIC_NAME, 'hardware-address': macAddress(state.vmid).toLowerCase(), 'ip-addresses': nic, statistics },
  ];
}

function runtimeCounters(state: VmState, now: number): Record<string, number> {
  const running = state.status === 'running';
  const memory = MEMORY_MB * 1024 * 1024;
  return {
    uptime: running ? Math.max(0, Math.floor((now - state.startedAt) / 1000)) : 0,
    cpu: running ? 0.02 : 0,
    mem: running ? Math.floor(memory / 4) : 0,
    maxmem: memory,
    disk: 0,
    maxdisk: DISK_BYTES,
    diskread: 0,
    diskwrite: 0,
    netin: 0,
    netout: 0,
  };
}

/** Builds one item of `GET /nodes/{node}/qemu`. */
export function vmListItem(state: VmState, now: number): Record<string, ConfigValue> {
  const item: Record<string, ConfigValue> = {
    vmid: state.vmid,
    status: state.status,
    name: String(state.config.get('name') ?? `VM${state.vmid}`),
    cpus: Number(state.config.get('cores') ?? 1) * Number(state.config.get('sockets') ?? 1),
    ...runtimeCounters(state, now),
  };
  if (state.status === 'running') item.qmpstatus = 'running';
  const tags = state.config.get('tags');
  if (tags !== undefined) item.tags = tags;
  return item;
}

/** Builds one guest item of `GET /cluster/resources`. */
export function vmResource(state: VmState, now: number): Record<string, ConfigValue> {
  const item: Record<string, ConfigValue> = {
    id: `qemu/${state.vmid}`,
    type: 'qemu',
    vmid: state.vmid,
    node: state.node,
    name: String(state.config.get('name') ?? `VM${state.vmid}`),
    status: state.status,
    template: 0,
    maxcpu: Number(state.config.get('cores') ?? 1) * Number(state.config.get('sockets') ?? 1),
    ...runtimeCounters(state, now),
  };
  const tags = state.config.get('tags');
  if (tags !== undefined) item.tags = tags;
  return item;
}
