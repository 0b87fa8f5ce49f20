import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { agentEnabled, claimedAddresses, netDevicesOf, parseInterfaces, type GuestInterface } from './guest-addresses.js';
import { createPveApi, type PveApi } from './api-client.js';

/** Node and address of a guest, as the ingress reaches it. */
export interface GuestAddress {
  node: string;
  address: string;
}

/** One guest as `/cluster/resources?type=vm` lists it. */
export interface GuestSummary {
  vmid: number;
  type: 'lxc' | 'qemu';
  node: string;
  status: string;
}

/** Origin of a resolved address. */
export type AddressSource = 'pinned' | 'static' | 'dhcp' | 'agent';

export interface ResolvedGuest {
  vmid: number;
  node: string;
  type: 'lxc' | 'qemu';
  running: boolean;
  /** null when the guest is stopped and has no static address. */
  address: string | null;
  source: AddressSource | null;
}

/** The address choice an admin made for one target. */
export interface TargetPinning {
  /** Read only this device, `net0`..`net31`. */
  interface?: string;
  /** Use this address and skip the lookup. */
  address?: string;
}

/** Guests as the reconciler uses them; only modules under `pve/` know the PVE API paths. */
export interface GuestDirectory {
  /**
   * Returns the node and the IPv4 address of container `vmid`. Throws GUEST_NOT_FOUND or
   * GUEST_NO_ADDRESS. Kept for callers that need one running address.
   */
  resolveAddress(vmid: number, signal?: AbortSignal): Promise<GuestAddress>;
  /** Every guest of the cluster with its node and status (one `/cluster/resources` call). */
  listGuests(signal?: AbortSignal): Promise<GuestSummary[]>;
  /**
   * Finds where guest `vmid` runs and its address, in this order: the pinned address; the static
   * `ip=` (then `ip6=`) of the pinned or first `netN`; the running container's `/interfaces`
   * (DHCP) for that device; the QEMU guest agent for VMs. Throws GUEST_NOT_FOUND when the guest
   * does not exist, and GUEST_NO_ADDRESS (or PVE_API_FAILED for a missing privilege) when a
   * running VM's agent is turned off or does not answer.
   */
  resolveGuest(vmid: number, pin: TargetPinning, signal?: AbortSignal, guests?: GuestSummary[]): Promise<ResolvedGuest>;
  /** The guests other than `vmid` that claim `address` in their config or on a running interface. */
  claimsOf(address: string, exceptVmid: number, signal?: AbortSignal, guests?: GuestSummary[]): Promise<number[]>;
}

export interface PveGuestDirectorySettings {
  /** Base URL of the PVE API, e.g. https://127.0.0.1:8006 */
  url: string;
  tokenId: string;
  tokenSecretFile: string;
  /** Time after which one request is abandoned; 15 s when absent. */
  timeoutMs?: number;
  logger: Logger;
}

interface ResourceItem {
  type?: string;
  vmid?: number;
  node?: string;
  status?: string;
}

function translate(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  // proxmox-api 1.1.1 aborts a request at its query timeout and reports only "FaILED to call".
  const aborted = (err as { cause?: { name?: unknown } }).cause?.name === 'AbortError';
  const detail = aborted ? ' (no response within pve.requestTimeoutMs, timed out)' : '';
  return new AppError('PVE_API_FAILED', `Unable to ${action} through the PVE API: ${(err as Error).message}${detail}; check that pveproxy runs and that the daemon's API token is valid`, { cause: err });
}

/**
 * Guest lookups through the PVE API with the daemon's own API token. The token travels as
 * `Authorization: PVEAPIToken=...`; TLS trust for pveproxy's certificate comes from the
 * process's CA store (the packaged unit adds /etc/pve/pve-root-ca.pem with NODE_EXTRA_CA_CERTS).
 */
export class PveGuestDirectory implements GuestDirectory {
  private readonly api: PveApi;
  private readonly logger: Logger;

  constructor(settings: PveGuestDirectorySettings) {
    this.api = createPveApi(settings);
    this.logger = settings.logger.child({ subsystem: 'pve' });
  }

  async resolveAddress(vmid: number, signal?: AbortSignal): Promise<GuestAddress> {
    const guest = await this.resolveGuest(vmid, {}, signal);
    if (guest.address === null) {
      throw new AppError('GUEST_NO_ADDRESS', `Guest ${vmid} on node ${guest.node} has no address: it is stopped or gets its address by DHCP; start it or give net0 a static ip`);
    }
    return { node: guest.node, address: guest.address };
  }

  async listGuests(signal?: AbortSignal): Promise<GuestSummary[]> {
    signal?.throwIfAborted();
    let resources: ResourceItem[];
    try {
      resources = await this.api.cluster.resources.$get({ type: 'vm' });
    } catch (err) {
      throw translate(err, 'list the guests of the cluster');
    }
    // proxmox-api returns the body as text when it is not JSON (a cut-off or proxy error page).
    if (!Array.isArray(resources)) {
      const excerpt = JSON.stringify(resources).slice(0, 120);
      throw new AppError('PVE_API_FAILED', `Unable to list the guests of the cluster through the PVE API: GET /cluster/resources returned ${excerpt} instead of a list of guests; check pveproxy and any proxy in front of it`);
    }
    const guests: GuestSummary[] = [];
    for (const item of resources) {
      if ((item.type !== 'lxc' && item.type !== 'qemu') || typeof item.vmid !== 'number' || typeof item.node !== 'string') continue;
      guests.push({ vmid: item.vmid, type: item.type, node: item.node, status: item.status ?? 'unknown' });
    }
    return guests;
  }

  async resolveGuest(vmid: number, pin: TargetPinning, signal?: AbortSignal, known?: GuestSummary[]): Promise<ResolvedGuest> {
    const guests = known ?? (await this.listGuests(signal));
    const guest = guests.find((item) => item.vmid === vmid);
    if (guest === undefined) {
      throw new AppError('GUEST_NOT_FOUND', `Guest ${vmid} does not exist in this cluster, or the daemon's API token lacks VM.Audit on /vms/${vmid}`);
    }
    const base = { vmid, node: guest.node, type: guest.type, running: guest.status === 'running' };
    const config = await this.readConfig(guest, signal);
    const devices = netDevicesOf(config);

    if (pin.address !== undefined) {
      // A pin chooses among the guest's own addresses. Any other address would let a user with
      // VM.Config.Network on one guest publish another guest or the node itself (pveproxy on
      // 127.0.0.1, say) under a public name.
      const interfaces = base.running ? await this.readInterfaces(guest, signal) : [];
      const own = claimedAddresses(devices, interfaces);
      if (!own.has(pin.address)) {
        const known = own.size === 0 ? 'none is known' : [...own].join(', ');
        throw new AppError('GUEST_NO_ADDRESS', `Address ${pin.address} is not an address of guest ${vmid} (its addresses: ${known}); pin one of the guest's own addresses or clear the pin`, {
          retryable: false,
        });
      }
      return { ...base, address: pin.address, source: 'pinned' };
    }

    const chosen = pin.interface === undefined ? devices : devices.filter((device) => device.key === pin.interface);
    if (pin.interface !== undefined && chosen.length === 0) {
      throw new AppError('GUEST_NO_ADDRESS', `Guest ${vmid} has no network device ${pin.interface}; choose another interface or clear the pin`, { retryable: false });
    }
    const device = chosen[0];
    const staticAddress = device?.ipv4 ?? device?.ipv6 ?? null;
    if (staticAddress !== null) return { ...base, address: staticAddress, source: 'static' };
    if (!base.running) return { ...base, address: null, source: null };

    const interfaces = guest.type === 'qemu' ? await this.readAgentInterfaces(guest, config, signal) : await this.readInterfaces(guest, signal);
    const match = interfaces.find((item) => (device?.hwaddr != null && item.hwaddr === device.hwaddr) || (device?.name != null && item.name === device.name)) ?? (device === undefined ? interfaces[0] : undefined);
    const live = match?.ipv4[0] ?? match?.ipv6[0] ?? null;
    if (live !== null) return { ...base, address: live, source: guest.type === 'qemu' ? 'agent' : 'dhcp' };
    return { ...base, address: null, source: null };
  }

  async claimsOf(address: string, exceptVmid: number, signal?: AbortSignal, known?: GuestSummary[]): Promise<number[]> {
    const guests = known ?? (await this.listGuests(signal));
    const claims: number[] = [];
    // NOTE: this reads the config (and, when running, the interfaces) of every other guest, so it
    // costs up to two API calls per guest; callers run it only for an address they have not used before.
    for (const guest of guests) {
      if (guest.vmid === exceptVmid) continue;
      const devices = netDevicesOf(await this.readConfig(guest, signal).catch(() => ({})));
      const interfaces = guest.status === 'running' ? await this.readInterfaces(guest, signal).catch(() => []) : [];
      if (claimedAddresses(devices, interfaces).has(address)) claims.push(guest.vmid);
    }
    return claims;
  }

  private async readConfig(guest: GuestSummary, signal?: AbortSignal): Promise<Record<string, unknown>> {
    signal?.throwIfAborted();
    try {
      const node = this.api.nodes.$(guest.node);
      return guest.type === 'lxc' ? await node.lxc.$(guest.vmid).config.$get() : await node.qemu.$(guest.vmid).config.$get();
    } catch (err) {
      throw translate(err, `read the configuration of guest ${guest.vmid} on node ${guest.node}`);
    }
  }

  private async readInterfaces(guest: GuestSummary, signal?: AbortSignal): Promise<GuestInterface[]> {
    signal?.throwIfAborted();
    const node = this.api.nodes.$(guest.node);
    try {
      if (guest.type === 'lxc') return parseInterfaces(await node.lxc.$(guest.vmid).interfaces.$get());
      return parseInterfaces(await this.callAgent(guest, signal));
    } catch (err) {
      this.logger.debug({ vmid: guest.vmid, node: guest.node, err }, 'guest interfaces unavailable');
      return [];
    }
  }

  /** Reads a running VM's interfaces through its guest agent; throws an error that explains why they are unknown. */
  private async readAgentInterfaces(guest: GuestSummary, config: Record<string, unknown>, signal?: AbortSignal): Promise<GuestInterface[]> {
    const where = `VM ${guest.vmid} on node ${guest.node}`;
    if (!agentEnabled(config)) {
      throw new AppError('GUEST_NO_ADDRESS', `${where} has the QEMU guest agent turned off (option agent in its config), so its address is unknown; turn it on (qm set ${guest.vmid} --agent 1) and run qemu-guest-agent in the VM`);
    }
    return parseInterfaces(await this.callAgent(guest, signal));
  }

  /**
   * Calls `agent/network-get-interfaces` and returns the agent's interface list. PVE returns
   * `{ result: [...] }`. It fails with HTTP 500 and a plain message when the agent is not
   * configured or not running, and an error of the agent itself arrives as `result.error.desc`.
   */
  private async callAgent(guest: GuestSummary, signal?: AbortSignal): Promise<unknown[]> {
    signal?.throwIfAborted();
    const where = `VM ${guest.vmid} on node ${guest.node}`;
    let answer: { result?: unknown };
    try {
      answer = (await this.api.nodes.$(guest.node).qemu.$(guest.vmid).agent['network-get-interfaces'].$get()) as { result?: unknown };
    } catch (err) {
      const text = (err as Error).message;
      const pveMessage = pveErrorMessage(text);
      if (/ with 403 /.test(text)) {
        throw new AppError('PVE_API_FAILED', `Unable to read the addresses of ${where} through its guest agent: the daemon's API token lacks VM.GuestAgent.Audit on /vms/${guest.vmid} (VM.Monitor before PVE 9); grant it to the daemon's role`, { cause: err });
      }
      if (pveMessage !== null) {
        throw new AppError('GUEST_NO_ADDRESS', `${where} reports no address: its QEMU guest agent is unavailable (PVE: "${pveMessage}"); run qemu-guest-agent in the VM`, { cause: err });
      }
      throw translate(err, `read the addresses of ${where} through its guest agent`);
    }
    const result = answer.result;
    if (Array.isArray(result)) return result as unknown[];
    const description = (result as { error?: { desc?: unknown } } | undefined)?.error?.desc;
    throw new AppError('GUEST_NO_ADDRESS', `${where} reports no address: its QEMU guest agent returned ${typeof description === 'string' ? `the error "${description}"` : 'no interface list'}; check qemu-guest-agent in the VM`);
  }
}

/** Extracts PVE's `message` from a proxmox-api error text, which ends with the response body. */
function pveErrorMessage(text: string): string | null {
  const match = /"message":("(?:[^"\\]|\\.)*")/.exec(text);
  if (match?.[1] === undefined) return null;
  try {
    return (JSON.parse(match[1]) as string).trim();
  } catch {
    return null;
  }
}
