import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import proxmoxApi from 'proxmox-api';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';

/** Where a guest's service can be reached from the ingress. */
export interface GuestAddress {
  node: string;
  address: string;
}

/** Guests as the reconciler sees them; only modules under `pve/` know the PVE API paths. */
export interface GuestDirectory {
  /**
   * Returns the node and the IPv4 address of container `vmid`: the first address of a non-loopback
   * interface when the container runs, else the static address of its first network device.
   * Throws GUEST_NOT_FOUND or GUEST_NO_ADDRESS.
   */
  resolveAddress(vmid: number, signal?: AbortSignal): Promise<GuestAddress>;
}

export interface PveGuestDirectorySettings {
  /** Base URL of the PVE API, e.g. https://127.0.0.1:8006 */
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  logger: Logger;
}

interface ResourceItem {
  type?: string;
  vmid?: number;
  node?: string;
}

interface InterfaceItem {
  name?: string;
  'ip-addresses'?: Array<{ 'ip-address'?: string; 'ip-address-type'?: string }>;
}

function translate(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  return new AppError('PVE_API_FAILED', `Unable to ${action} through the PVE API: ${(err as Error).message}; check that pveproxy runs and that the daemon's API token is valid`, { cause: err });
}

/** Reads the static IPv4 address from a `netN` property string, e.g. `name=eth0,...,ip=10.0.0.5/24`. */
export function staticAddressOf(netConfig: string): string | null {
  for (const part of netConfig.split(',')) {
    const [key, value] = part.split('=', 2);
    if (key === 'ip' && value !== undefined) {
      const address = value.split('/')[0] ?? '';
      return isIP(address) === 4 ? address : null;
    }
  }
  return null;
}

/**
 * Guest lookups through the PVE API with the daemon's own API token. The token travels as
 * `Authorization: PVEAPIToken=...`; TLS trust for pveproxy's certificate comes from the
 * process's CA store (the packaged unit adds /etc/pve/pve-root-ca.pem with NODE_EXTRA_CA_CERTS).
 */
export class PveGuestDirectory implements GuestDirectory {
  private readonly api: ReturnType<typeof proxmoxApi>;
  private readonly logger: Logger;

  constructor(settings: PveGuestDirectorySettings) {
    const url = new URL(settings.url);
    const schema = url.protocol === 'http:' ? 'http' : 'https';
    const secret = readFileSync(settings.tokenSecretFile, 'utf8').trim();
    this.api = proxmoxApi({
      host: url.hostname,
      port: url.port === '' ? (schema === 'https' ? 443 : 80) : Number(url.port),
      schema,
      tokenID: settings.tokenId,
      tokenSecret: secret,
      queryTimeout: 15_000,
    });
    this.logger = settings.logger.child({ subsystem: 'pve' });
  }

  async resolveAddress(vmid: number, signal?: AbortSignal): Promise<GuestAddress> {
    signal?.throwIfAborted();
    let resources: ResourceItem[];
    try {
      resources = (await this.api.cluster.resources.$get({ type: 'vm' }));
    } catch (err) {
      throw translate(err, 'list the guests of the cluster');
    }
    const guest = resources.find((item) => item.vmid === vmid);
    if (guest === undefined || guest.node === undefined) {
      throw new AppError('GUEST_NOT_FOUND', `Guest ${vmid} does not exist in this cluster, or the daemon's API token lacks VM.Audit on /vms/${vmid}`);
    }
    if (guest.type !== 'lxc') {
      throw new AppError('GUEST_NOT_FOUND', `Guest ${vmid} is a ${guest.type ?? 'unknown'} guest; only containers (lxc) can be exposed`, { retryable: false });
    }
    const node = guest.node;
    const container = this.api.nodes.$(node).lxc.$(vmid);

    signal?.throwIfAborted();
    let interfaces: InterfaceItem[] | null;
    try {
      interfaces = (await container.interfaces.$get());
    } catch (err) {
      throw translate(err, `read the network interfaces of container ${vmid}`);
    }
    for (const item of interfaces ?? []) {
      if (item.name === 'lo') continue;
      const address = item['ip-addresses']?.find((entry) => entry['ip-address-type'] === 'inet')?.['ip-address'];
      if (address !== undefined && isIP(address) === 4) return { node, address };
    }

    // A stopped container has no interface data; its static configuration still names the address.
    let config: Record<string, unknown>;
    try {
      config = (await container.config.$get());
    } catch (err) {
      throw translate(err, `read the configuration of container ${vmid}`);
    }
    for (let index = 0; index < 32; index++) {
      const net = config[`net${index}`];
      if (typeof net !== 'string') continue;
      const address = staticAddressOf(net);
      if (address !== null) {
        this.logger.debug({ vmid, node, address }, 'container has no live address, using its static address');
        return { node, address };
      }
    }
    throw new AppError('GUEST_NO_ADDRESS', `Container ${vmid} on node ${node} has no IPv4 address: it is stopped or gets its address by DHCP; start it or give net0 a static ip`);
  }
}
