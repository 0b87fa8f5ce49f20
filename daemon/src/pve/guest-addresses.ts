import { isIP } from 'node:net';

/**
 * Pure helpers that read guest addresses out of PVE API responses: the `netN` property strings of a
 * container config, LXC `/interfaces` (address types `inet`/`inet6`) and the QEMU guest agent's
 * `network-get-interfaces` (types `ipv4`/`ipv6`).
 */

export interface NetDevice {
  /** Config key, `net0`..`net31`. */
  key: string;
  /** Interface name inside the guest, e.g. `eth0`. */
  name: string | null;
  hwaddr: string | null;
  /** Static IPv4 address without prefix, or null for dhcp/manual/none. */
  ipv4: string | null;
  /** Static IPv6 address without prefix, or null for auto/dhcp/manual/none. */
  ipv6: string | null;
}

export interface GuestInterface {
  name: string;
  hwaddr: string | null;
  ipv4: string[];
  ipv6: string[];
}

const MAX_NET_DEVICES = 32;

/** NIC models of a QEMU `netN` value, whose key carries the MAC (qemu-server `$net_fmt`). */
const QEMU_NIC_MODELS = [
  'virtio', 'e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
  'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'vmxnet3',
];

/**
 * Parses one `netN` value: an LXC one such as `name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=10.0.0.5/24`,
 * or a QEMU one such as `virtio=BC:24:11:00:00:01,bridge=vmbr0`, which has no name and no address.
 */
export function parseNetDevice(key: string, value: string): NetDevice {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const separator = part.indexOf('=');
    if (separator > 0) fields.set(part.slice(0, separator), part.slice(separator + 1));
  }
  const address = (field: string, family: 4 | 6): string | null => {
    const text = (fields.get(field) ?? '').split('/')[0] ?? '';
    return isIP(text) === family ? text.toLowerCase() : null;
  };
  const model = QEMU_NIC_MODELS.find((item) => fields.has(item));
  const hwaddr = fields.get('hwaddr') ?? fields.get('macaddr') ?? (model === undefined ? undefined : fields.get(model));
  return { key, name: fields.get('name') ?? null, hwaddr: hwaddr?.toLowerCase() ?? null, ipv4: address('ip', 4), ipv6: address('ip6', 6) };
}

/** Returns the network devices of a guest config in key order. */
export function netDevicesOf(config: Record<string, unknown>): NetDevice[] {
  const devices: NetDevice[] = [];
  for (let index = 0; index < MAX_NET_DEVICES; index++) {
    const value = config[`net${index}`];
    if (typeof value === 'string') devices.push(parseNetDevice(`net${index}`, value));
  }
  return devices;
}

/**
 * Returns whether a QEMU config turns the guest agent on. The `agent` property string has the
 * default key `enabled`, so `1`, `enabled=1` and `1,fstrim_cloned_disks=1` all do (qemu-server `$agent_fmt`).
 */
export function agentEnabled(config: Record<string, unknown>): boolean {
  const value = config['agent'];
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  for (const part of String(value).split(',')) {
    const separator = part.indexOf('=');
    if (separator >= 0 && part.slice(0, separator) !== 'enabled') continue;
    const flag = separator < 0 ? part : part.slice(separator + 1);
    return ['1', 'yes', 'on', 'true'].includes(flag.toLowerCase());
  }
  return false;
}

interface RawInterface {
  name?: unknown;
  hwaddr?: unknown;
  'hardware-address'?: unknown;
  'ip-addresses'?: unknown;
}

/** Normalises LXC `/interfaces` or QEMU agent `network-get-interfaces` items; skips the `lo` interface and IPv6 link-local addresses. */
export function parseInterfaces(items: unknown): GuestInterface[] {
  if (!Array.isArray(items)) return [];
  const interfaces: GuestInterface[] = [];
  for (const raw of items as RawInterface[]) {
    if (typeof raw?.name !== 'string' || raw.name === 'lo') continue;
    // The QEMU guest agent names the MAC `hardware-address`; LXC's /interfaces sends both names.
    let hwaddr: string | null = null;
    if (typeof raw['hardware-address'] === 'string') hwaddr = raw['hardware-address'];
    else if (typeof raw.hwaddr === 'string') hwaddr = raw.hwaddr;
    const entry: GuestInterface = { name: raw.name, hwaddr: hwaddr?.toLowerCase() ?? null, ipv4: [], ipv6: [] };
    for (const item of Array.isArray(raw['ip-addresses']) ? (raw['ip-addresses'] as Array<Record<string, unknown>>) : []) {
      const address = typeof item['ip-address'] === 'string' ? item['ip-address'].toLowerCase() : '';
      const type = item['ip-address-type'];
      if ((type === 'inet' || type === 'ipv4') && isIP(address) === 4) entry.ipv4.push(address);
      if ((type === 'inet6' || type === 'ipv6') && isIP(address) === 6 && !address.startsWith('fe80:') && address !== '::1') entry.ipv6.push(address);
    }
    interfaces.push(entry);
  }
  return interfaces;
}

/** Every address a guest claims: static config addresses plus the addresses its interfaces report. */
export function claimedAddresses(devices: readonly NetDevice[], interfaces: readonly GuestInterface[]): Set<string> {
  const claimed = new Set<string>();
  for (const device of devices) {
    if (device.ipv4 !== null) claimed.add(device.ipv4);
    if (device.ipv6 !== null) claimed.add(device.ipv6);
  }
  for (const item of interfaces) for (const address of [...item.ipv4, ...item.ipv6]) claimed.add(address);
  return claimed;
}
