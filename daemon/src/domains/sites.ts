import { hostname } from 'node:os';
import { BlockList, isIP } from 'node:net';
import { AppError, invalidParameter } from '../errors.js';
import type { StateDocument, StoredDomain, StoredSite } from '../store/model.js';

/**
 * Addresses that the public cannot reach: loopback, private, shared (CGNAT), link-local,
 * unspecified and multicast ranges (RFC 1918, RFC 6598, RFC 3927, RFC 4193, RFC 4291).
 * Documentation ranges are allowed, because examples and labs use them as stand-ins.
 */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Parses the public addresses of a site; `allowPrivate` admits loopback and private ranges for labs. */
export function parseSiteAddresses(parameter: string, input: readonly string[], allowPrivate: boolean): string[] {
  if (input.length === 0) throw invalidParameter(parameter, 'a site needs at least one public IPv4 or IPv6 address');
  const addresses: string[] = [];
  for (const raw of input) {
    const address = raw.trim().toLowerCase();
    const family = isIP(address);
    if (family === 0) throw invalidParameter(parameter, `"${raw}" is not an IPv4 or IPv6 address`);
    if (!allowPrivate && !isPublicAddress(address)) {
      throw invalidParameter(parameter, `${address} is a loopback, private or otherwise non-public address, which visitors cannot reach; enter the site's public address, or set allow-private for a lab`);
    }
    if (!addresses.includes(address)) addresses.push(address);
  }
  return addresses;
}

/** PVE node names are host name labels (pve-cluster: letters, digits and hyphens). */
export function parseNodeNames(parameter: string, input: readonly string[]): string[] {
  const nodes: string[] = [];
  for (const raw of input) {
    const node = raw.trim();
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(node)) {
      throw invalidParameter(parameter, `"${raw}" is not a PVE node name; use the names that pvecm nodes lists`);
    }
    if (!nodes.includes(node)) nodes.push(node);
  }
  return nodes;
}

export function parseSiteName(parameter: string, input: string): string {
  const name = input.trim().toLowerCase();
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
    throw invalidParameter(parameter, `"${input}" is not a valid site name; use a letter followed by letters, digits or hyphens (at most 63)`);
  }
  return name;
}

/** The site a domain publishes on: its own, else the default site; undefined when neither exists. */
export function siteOfDomain(state: StateDocument, domain: StoredDomain): StoredSite | undefined {
  const sites = state.sites ?? [];
  if (domain.site !== undefined) return sites.find((site) => site.name === domain.site);
  return sites.find((site) => site.default);
}

/**
 * The addresses the DNS records of `domain`'s services point at: those of its site, or
 * `fallback` (the configuration's site) while no site is stored.
 */
export function publishedAddresses(state: StateDocument, domain: StoredDomain, fallback: readonly string[]): string[] {
  const site = siteOfDomain(state, domain);
  return site === undefined ? [...fallback] : [...site.addresses];
}

/** The local node: its PVE name and a reader of its default-route addresses. */
export interface LocalNode {
  name: string;
  /** Returns the addresses of the node's default-route interface (`GET /nodes/{node}/network`). */
  readAddresses(): Promise<string[]>;
}

function localNodeName(): string {
  return hostname().split('.')[0] ?? '';
}

/**
 * Builds the first site, on node `nodeName` (the host name when absent). The addresses are
 * trusted as the admin or the node's network configuration gives them, so a private or loopback
 * address marks the site `allowPrivate`.
 */
export function defaultSiteFromConfig(config: { name: string; addresses: string[] }, now = new Date(), nodeName = localNodeName()): StoredSite {
  return {
    name: parseSiteName('site.name', config.name),
    nodes: /^[a-zA-Z0-9-]{1,63}$/.test(nodeName) ? [nodeName] : [],
    addresses: [...config.addresses],
    default: true,
    allowPrivate: config.addresses.some((address) => !isPublicAddress(address)),
    createdAt: now.toISOString(),
  };
}

/**
 * Stores the default site when the state contains no site yet. Its addresses are `site.addresses`
 * from the configuration, or, when that list is empty, those `node.readAddresses` returns.
 * Throws when neither gives an address; the next start tries again.
 */
export async function ensureDefaultSite(
  state: { snapshot(): StateDocument; update<T>(mutate: (document: StateDocument) => T): Promise<T> },
  config: { name: string; addresses: string[] },
  node?: LocalNode,
): Promise<void> {
  if ((state.snapshot().sites ?? []).length > 0) return;
  let addresses = config.addresses;
  if (addresses.length === 0) {
    if (node === undefined) throw new AppError('CONFIG_INVALID', 'The default site has no address: site.addresses is empty and no node network reader was given; set site.addresses in the configuration');
    addresses = await node.readAddresses();
  }
  const site = defaultSiteFromConfig({ name: config.name, addresses }, new Date(), node?.name);
  await state.update((document) => {
    if ((document.sites ?? []).length > 0) return;
    document.sites = [site];
  });
}
