import { isIP } from 'node:net';

import type { AccessStore } from './access.js';

/** The default-route bridge of one simulated node: addresses in CIDR form and their gateways. */
export interface SimNodeNetwork {
  /** IPv4 address with prefix length, such as '127.0.0.1/8'. */
  cidr?: string;
  /** IPv4 default gateway; data only, the simulator never connects to it. */
  gateway?: string;
  /** IPv6 address with prefix length, such as 'fd00::1/64'. */
  cidr6?: string;
  gateway6?: string;
}

/** One interface as `GET /nodes/{node}/network` returns it; only the fields that are set. */
export type NetworkInterfaceItem = Record<string, string | number | string[]>;

export const DEFAULT_NODE_NETWORK: SimNodeNetwork = { cidr: '127.0.0.1/8', gateway: '127.0.0.254' };

/** The bridge and physical port names of a default PVE installation. */
const BRIDGE = 'vmbr0';
const PORT = 'eno1';

/** Bridge types that `type=any_bridge` and `type=any_local_bridge` select. */
const BRIDGE_TYPES: readonly string[] = ['bridge', 'OVSBridge'];

function splitCidr(cidr: string, family: 4 | 6, node: string): { address: string; prefix: number } {
  const [address = '', prefixText = ''] = cidr.split('/');
  const prefix = Number(prefixText);
  const maxPrefix = family === 4 ? 32 : 128;
  if (isIP(address) !== family || !/^\d+$/.test(prefixText) || prefix > maxPrefix) {
    throw new Error(`invalid IPv${family} CIDR '${cidr}' for the network of node ${node}; write it as address/prefix`);
  }
  return { address, prefix };
}

/**
 * Builds the interface list of a node as `/etc/network/interfaces` of a default installation
 * describes it: physical port `eno1` without addresses, enslaved to bridge `vmbr0` that carries
 * the node's addresses and default gateways. `lo` is left out, as the API does.
 */
export function createNodeInterfaces(node: string, network: SimNodeNetwork): NetworkInterfaceItem[] {
  const port: NetworkInterfaceItem = {
    iface: PORT,
    type: 'eth',
    method: 'manual',
    method6: 'manual',
    families: ['inet'],
    active: 1,
    exists: 1,
    priority: 1,
  };
  const bridge: NetworkInterfaceItem = {
    iface: BRIDGE,
    type: 'bridge',
    method: 'manual',
    method6: 'manual',
    families: [],
    active: 1,
    autostart: 1,
    bridge_ports: PORT,
    bridge_stp: 'off',
    bridge_fd: '0',
    priority: 2,
    comments: 'default-route bridge of the PVE simulator\n',
  };
  const families: string[] = [];
  if (network.cidr !== undefined) {
    const { address, prefix } = splitCidr(network.cidr, 4, node);
    // NOTE: `netmask` carries the prefix length, the form PVE is believed to return for an
    // `address a.b.c.d/nn` line; this was not compared with a real node.
    Object.assign(bridge, { method: 'static', address, netmask: String(prefix), cidr: `${address}/${prefix}` });
    if (network.gateway !== undefined) bridge.gateway = network.gateway;
    families.push('inet');
  }
  if (network.cidr6 !== undefined) {
    const { address, prefix } = splitCidr(network.cidr6, 6, node);
    Object.assign(bridge, { method6: 'static', address6: address, netmask6: prefix, cidr6: `${address}/${prefix}` });
    if (network.gateway6 !== undefined) bridge.gateway6 = network.gateway6;
    families.push('inet6');
  }
  bridge.families = families;
  return [port, bridge];
}

/** Returns whether an interface passes the `type` parameter of the list call. */
export function matchesInterfaceType(item: NetworkInterfaceItem, type: string | undefined): boolean {
  if (type === undefined || type === 'include_sdn') return true;
  if (type === 'any_bridge' || type === 'any_local_bridge') return BRIDGE_TYPES.includes(String(item.type));
  return item.type === type;
}

/**
 * Returns whether `authid` may list an interface. PVE filters this list by bridge and SDN access.
 * NOTE: the rule below (Sys.Audit on `/nodes/{node}` lists all, else only bridges with SDN.Audit or
 * SDN.Use on `/sdn/zones/localnetwork/<bridge>`) is an assumption not compared with pve-manager.
 */
export function interfaceVisible(access: AccessStore, authid: string, node: string, item: NetworkInterfaceItem): boolean {
  if (authid === 'root@pam' || access.hasPrivilege(authid, `/nodes/${node}`, 'Sys.Audit')) return true;
  if (!BRIDGE_TYPES.includes(String(item.type))) return false;
  const path = `/sdn/zones/localnetwork/${String(item.iface)}`;
  return access.hasPrivilege(authid, path, 'SDN.Audit') || access.hasPrivilege(authid, path, 'SDN.Use');
}
