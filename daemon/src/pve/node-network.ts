/**
 * The addresses of a PVE node's default-route interface, read through `GET /nodes/{node}/network`.
 * The token needs `Sys.Audit` on `/nodes/{node}`, because without it PVE filters the list by
 * bridge and SDN access and may leave out the default-route bridge.
 */

import { isIP } from 'node:net';
import { AppError } from '../errors.js';
import { createPveApi, type PveApi } from './api-client.js';

/** The fields of one `GET /nodes/{node}/network` item that this module reads (PVE 9.1 schema). */
export interface NetworkInterface {
  iface: string;
  type?: string;
  address?: string;
  gateway?: string;
  address6?: string;
  gateway6?: string;
}

/** Addresses of the interfaces that carry a node's default gateways; either may be absent. */
export interface DefaultRouteAddresses {
  /** Interface with the IPv4 gateway, and its IPv4 address. */
  ipv4?: { iface: string; address: string };
  /** Interface with the IPv6 gateway, and its IPv6 address. */
  ipv6?: { iface: string; address: string };
}

/**
 * Picks the IPv4 address of the interface with `gateway` and the IPv6 address of the interface
 * with `gateway6`. The list reflects `/etc/network/interfaces`, so an address obtained by DHCP
 * does not appear and a DHCP-configured node yields no address.
 */
export function defaultRouteAddresses(interfaces: readonly NetworkInterface[]): DefaultRouteAddresses {
  const result: DefaultRouteAddresses = {};
  const ipv4 = interfaces.find((item) => isIP(item.gateway ?? '') === 4 && isIP(item.address ?? '') === 4);
  if (ipv4?.address !== undefined) result.ipv4 = { iface: ipv4.iface, address: ipv4.address };
  const ipv6 = interfaces.find((item) => isIP(item.gateway6 ?? '') === 6 && isIP(item.address6 ?? '') === 6);
  if (ipv6?.address6 !== undefined) result.ipv6 = { iface: ipv6.iface, address: ipv6.address6.toLowerCase() };
  return result;
}

/** Lists the default-route addresses, IPv4 first. */
export function addressList(addresses: DefaultRouteAddresses): string[] {
  return [addresses.ipv4?.address, addresses.ipv6?.address].filter((address): address is string => address !== undefined);
}

export interface PveNodeNetworkSettings {
  /** Base URL of the PVE API, e.g. https://127.0.0.1:8006 */
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  /** Time after which one request is abandoned; 15 s when absent. */
  timeoutMs?: number;
}

/** Reads node networks with the daemon's own API token. */
export class PveNodeNetwork {
  private readonly api: PveApi;

  constructor(settings: PveNodeNetworkSettings) {
    this.api = createPveApi(settings);
  }

  /** Lists the interfaces of `node`, `lo` excluded. Throws PVE_API_FAILED when the call fails. */
  async interfaces(node: string): Promise<NetworkInterface[]> {
    try {
      const items: Array<Partial<NetworkInterface>> = await this.api.nodes.$(node).network.$get();
      return items.filter((item): item is NetworkInterface => typeof item.iface === 'string');
    } catch (err) {
      throw new AppError('PVE_API_FAILED', `Unable to read the network of node ${node} through the PVE API: ${(err as Error).message}; check that pveproxy runs and that the daemon's API token has Sys.Audit on /nodes/${node}`, { cause: err });
    }
  }

  /**
   * Returns the addresses of the default-route interfaces of `node`, IPv4 first. Throws
   * PVE_API_FAILED when the call fails or when no interface has both a gateway and an address.
   */
  async defaultRouteAddresses(node: string): Promise<string[]> {
    const addresses = addressList(defaultRouteAddresses(await this.interfaces(node)));
    if (addresses.length === 0) {
      throw new AppError('PVE_API_FAILED', `Node ${node} has no interface with both a static address and a default gateway in the interfaces the API token may list (a DHCP address does not appear there, and without Sys.Audit on /nodes/${node} most interfaces are hidden); grant Sys.Audit or set site.addresses and cluster.ingressAddresses in the configuration`);
    }
    return addresses;
  }
}
