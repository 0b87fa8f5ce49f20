import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

import { splitList } from './parameters.js';
import type { FirewallRule } from './firewall.js';
import type { SimContainer } from './types.js';

/** A config value as PVE returns it: numbers for integer and boolean keys, strings otherwise. */
export type ConfigValue = string | number;

/** One simulated LXC container: its config file, run state and firewall rules. */
export interface ContainerState {
  readonly vmid: number;
  /** The node the container is on; migrateContainer() changes it. */
  node: string;
  /** The address eth0 reports; with `ip=dhcp` it is not in the config. */
  address: string;
  readonly port: number;
  status: 'running' | 'stopped';
  /** Milliseconds since the epoch when the container last started. */
  startedAt: number;
  /** Config keys without `digest`. The `description` key is kept here and written as comment lines. */
  config: Map<string, ConfigValue>;
  firewallRules: FirewallRule[];
  /** The `[OPTIONS]` of the guest's firewall file; `enable` defaults to 0 as in pve-firewall. */
  firewallOptions: Map<string, string | number>;
}

const TAG_RE = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
const LOOPBACK_RE = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const MEMORY_MB = 512;
const DISK_BYTES = 8 * 1024 ** 3;

/**
 * Normalizes a tag list the way PVE stores it with the default datacenter `tag-style`: split at
 * `;`, `,` or spaces, lower-cased, deduplicated and sorted (pve-guest-common `get_unique_tags`).
 * Throws on a tag with characters outside `[a-z0-9_][a-z0-9_-+.]*`.
 */
export function normalizeTags(tags: readonly string[]): string[] {
  const unique = new Set<string>();
  for (const tag of tags.flatMap((entry) => splitList(entry))) {
    if (!TAG_RE.test(tag)) {
      throw new Error(`invalid tag '${tag}': tags use letters, digits and '_', '-', '+', '.' and start with a letter, digit or '_'`);
    }
    unique.add(tag.toLowerCase());
  }
  return [...unique].sort();
}

export function createContainerState(container: SimContainer, now: number, node: string): ContainerState {
  if (!Number.isInteger(container.vmid) || container.vmid < 100 || container.vmid > 999_999_999) {
    throw new Error(`invalid vmid ${container.vmid}: PVE guest ids are integers from 100 to 999999999`);
  }
  if (!LOOPBACK_RE.test(container.address) || !isIPv4(container.address)) {
    throw new Error(`invalid address '${container.address}' for container ${container.vmid}: use a 127.0.0.x loopback address`);
  }
  const config = new Map<string, ConfigValue>([
    ['arch', 'amd64'],
    ['cores', 1],
    ['hostname', container.hostname],
    ['memory', MEMORY_MB],
    ['net0', `name=eth0,bridge=vmbr0,firewall=1,hwaddr=${macAddress(container.vmid)},ip=${container.address}/8,type=veth`],
    ['ostype', 'debian'],
    ['rootfs', `local-lvm:vm-${container.vmid}-disk-0,size=8G`],
    ['swap', MEMORY_MB],
    ['unprivileged', 1],
  ]);
  const tags = normalizeTags(container.tags ?? []);
  if (tags.length > 0) config.set('tags', tags.join(';'));
  return {
    vmid: container.vmid,
    node,
    address: container.address,
    port: container.port,
    status: container.status ?? 'running',
    startedAt: now,
    config,
    firewallRules: [],
    firewallOptions: new Map(),
  };
}

/** Renders the config file as pve-container writes it: description as `#` lines, then sorted `key: value` lines. */
export function renderConfigFile(state: Pick<ContainerState, 'config'>): string {
  const lines: string[] = [];
  const description = state.config.get('description');
  if (typeof description === 'string') {
    for (const line of description.split('\n')) lines.push(`#${line}`);
  }
  for (const key of [...state.config.keys()].sort()) {
    if (key === 'description') continue;
    lines.push(`${key}: ${String(state.config.get(key))}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Computes the SHA-1 hex of the config file, the `digest` that PVE returns and checks. */
export function configDigest(state: Pick<ContainerState, 'config'>): string {
  return createHash('sha1').update(renderConfigFile(state)).digest('hex');
}

export function configResponse(state: Pick<ContainerState, 'config'>): Record<string, ConfigValue> {
  const response: Record<string, ConfigValue> = Object.fromEntries(state.config);
  response.digest = configDigest(state);
  return response;
}

/** Derives a stable MAC address per vmid under BC:24:11, the Proxmox OUI that PVE uses for generated addresses. */
export function macAddress(vmid: number): string {
  const hash = createHash('sha1').update(`vmid:${vmid}`).digest();
  const tail = [...hash.subarray(0, 3)].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase());
  return ['BC', '24', '11', ...tail].join(':');
}

/** Derives the IPv6 link-local address the kernel assigns for a MAC address (modified EUI-64). */
function linkLocalAddress(mac: string): string {
  const bytes = mac.split(':').map((part) => Number.parseInt(part, 16));
  const eui = [(bytes[0] ?? 0) ^ 0x02, bytes[1] ?? 0, bytes[2] ?? 0, 0xff, 0xfe, bytes[3] ?? 0, bytes[4] ?? 0, bytes[5] ?? 0];
  const groups: string[] = [];
  for (let i = 0; i < eui.length; i += 2) groups.push((((eui[i] ?? 0) << 8) | (eui[i + 1] ?? 0)).toString(16));
  return `fe80::${groups.join(':')}`;
}

export interface InterfaceAddress {
  'ip-address': string;
  'ip-address-type': 'inet' | 'inet6';
  prefix: number;
}

export interface ContainerInterface {
  name: string;
  hwaddr: string;
  'hardware-address': string;
  inet?: string;
  inet6?: string;
  'ip-addresses': InterfaceAddress[];
}

/**
 * Builds the `GET .../interfaces` data of a running container in the shape pve-container derives
 * from `ip --json a`. MACs are lower-case, and `inet`/`inet6` contain the last address of each family.
 */
export function containerInterfaces(state: ContainerState): ContainerInterface[] {
  const mac = macAddress(state.vmid).toLowerCase();
  const linkLocal = linkLocalAddress(mac);
  return [
    {
      name: 'lo',
      hwaddr: '00:00:00:00:00:00',
      'hardware-address': '00:00:00:00:00:00',
      inet: '127.0.0.1/8',
      inet6: '::1/128',
      'ip-addresses': [
        { 'ip-address': '127.0.0.1', 'ip-address-type': 'inet', prefix: 8 },
        { 'ip-address': '::1', 'ip-address-type': 'inet6', prefix: 128 },
      ],
    },
    {
      name: 'eth0',
      hwaddr: mac,
      'hardware-address': mac,
      inet: `${state.address}/8`,
      inet6: `${linkLocal}/64`,
      'ip-addresses': [
        { 'ip-address': state.address, 'ip-address-type': 'inet', prefix: 8 },
        { 'ip-address': linkLocal, 'ip-address-type': 'inet6', prefix: 64 },
      ],
    },
  ];
}

function uptimeSeconds(state: ContainerState, now: number): number {
  return state.status === 'running' ? Math.max(0, Math.floor((now - state.startedAt) / 1000)) : 0;
}

function runtimeCounters(state: ContainerState, now: number): Record<string, number> {
  const running = state.status === 'running';
  const memory = Number(state.config.get('memory') ?? MEMORY_MB) * 1024 * 1024;
  return {
    uptime: uptimeSeconds(state, now),
    cpu: running ? 0.01 : 0,
    mem: running ? Math.floor(memory / 8) : 0,
    maxmem: memory,
    disk: running ? Math.floor(DISK_BYTES / 4) : 0,
    maxdisk: DISK_BYTES,
    diskread: 0,
    diskwrite: 0,
    netin: 0,
    netout: 0,
  };
}

/** Builds one item of `GET /nodes/{node}/lxc`. */
export function containerListItem(state: ContainerState, now: number): Record<string, ConfigValue> {
  const item: Record<string, ConfigValue> = {
    vmid: state.vmid,
    status: state.status,
    name: String(state.config.get('hostname') ?? `CT${state.vmid}`),
    type: 'lxc',
    cpus: Number(state.config.get('cores') ?? 1),
    maxswap: Number(state.config.get('swap') ?? MEMORY_MB) * 1024 * 1024,
    ...runtimeCounters(state, now),
  };
  const tags = state.config.get('tags');
  if (tags !== undefined) item.tags = tags;
  return item;
}

/** Builds one guest item of `GET /cluster/resources`. */
export function containerResource(state: ContainerState, now: number): Record<string, ConfigValue> {
  const item: Record<string, ConfigValue> = {
    id: `lxc/${state.vmid}`,
    type: 'lxc',
    vmid: state.vmid,
    node: state.node,
    name: String(state.config.get('hostname') ?? `CT${state.vmid}`),
    status: state.status,
    template: 0,
    maxcpu: Number(state.config.get('cores') ?? 1),
    ...runtimeCounters(state, now),
  };
  const tags = state.config.get('tags');
  if (tags !== undefined) item.tags = tags;
  return item;
}
