import type { SimNodeNetwork } from './node-network.js';

/** A container the simulator reports on its node, and whose stand-in HTTP server may run. */
export interface SimContainer {
  vmid: number;
  hostname: string;
  /** A 127.0.0.x loopback address; it becomes `ip=<address>/8` on net0 and eth0's address. */
  address: string;
  /** Port where the container's stand-in HTTP server listens. */
  port: number;
  /** Defaults to 'running'. */
  status?: 'running' | 'stopped';
  tags?: string[];
}

/** A QEMU VM the simulator reports; its address comes only from the guest agent, as on PVE. */
export interface SimVm {
  vmid: number;
  name: string;
  /** A 127.0.0.x loopback address that the guest agent reports on the VM's NIC. */
  address: string;
  /** Port where the VM's stand-in HTTP server listens. */
  port: number;
  /** Defaults to 'running'. */
  status?: 'running' | 'stopped';
  /** The `agent` option of the VM config; defaults to true (`agent: 1`). */
  agent?: boolean;
  /** Whether qemu-guest-agent runs inside the VM; defaults to true. */
  agentRunning?: boolean;
  tags?: string[];
}

export interface PveSimulatorOptions {
  /** Loopback address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Name of the first cluster node, where containers are created; defaults to 'pve1'. */
  nodeName?: string;
  /** Further nodes that containers can migrate to. */
  otherNodes?: string[];
  containers?: SimContainer[];
  vms?: SimVm[];
  /**
   * Addresses of each node's `vmbr0` bridge, by node name. Use loopback addresses: they are data
   * only. A node not named here gets 127.0.0.1/8 with gateway 127.0.0.254.
   */
  nodeNetworks?: Record<string, SimNodeNetwork>;
  /**
   * Delay before a 401 response is sent. pveproxy delays every unauthorized response by 3 s, but
   * the simulator defaults to 0 so tests stay fast.
   */
  unauthorizedDelayMs?: number;
  /** Clock in milliseconds since the epoch; tests replace it to age tickets. Defaults to Date.now. */
  now?: () => number;
  /** Contents of the stand-in `/etc/pve/pve-www.key`, the input of the CSRF secret; a new RSA key by default. */
  wwwKey?: string;
}

/** ACL path (such as '/', '/vms', '/vms/101') mapped to the privilege names granted there. */
export type PrivilegeMap = Record<string, string[]>;

export interface ApiTokenOptions {
  /** Privilege separation: when true (the PVE default) the token gets only its own ACLs, limited by the user's. */
  privsep?: boolean;
  privileges?: PrivilegeMap;
}

export type AuthKind = 'ticket' | 'token' | 'none';

/**
 * A scripted failure of matching requests. `reply` sends `status` with PVE's error envelope and
 * `message`; `hang` sends no response until `clearFaults()`; `reset` closes the connection without a
 * response; `malformed` sends 200 with a JSON body cut off in the middle.
 */
export interface PveFault {
  match: (request: { method: string; path: string }) => boolean;
  action: 'reply' | 'hang' | 'reset' | 'malformed';
  /** Status of `reply`; 500 when absent. */
  status?: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many matching requests fail; `Infinity` keeps the fault until `clearFaults()`. */
  times: number;
}

export interface RequestLogEntry {
  method: string;
  /** Request path without the query string, such as '/api2/json/nodes'. */
  path: string;
  status: number;
  /** The credential the request carried, whether or not it was valid. */
  auth: AuthKind;
  /** Epoch milliseconds when a faulted request arrived; absent on other entries. */
  time?: number;
  /** True when an injected fault handled the request. */
  faulted?: boolean;
}

export interface PveSimulator {
  /** Base URL such as http://127.0.0.1:PORT; the API is under /api2/json. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly nodeName: string;
  /**
   * Contents of the simulated `/etc/pve/pve-www.key`. A daemon that reads these bytes from its
   * configured key file verifies the CSRF tokens the simulator issues, as a daemon running as root
   * on a node would read the real file.
   */
  readonly wwwKey: string;
  /**
   * Adds or replaces a user with a password and ACLs. Every ACL propagates, and the entry on the
   * most specific path wins, as in PVE. 'root@pam' has every privilege regardless of its ACLs.
   */
  addUser(userid: string, password: string, privileges: PrivilegeMap): void;
  /**
   * Adds an API token; `secret` must be a lowercase UUID. Returns 'user@realm!name'. When the
   * user does not exist yet, it is created with a random password and `options.privileges` as its
   * ACLs, so the token gets those privileges with or without privilege separation.
   */
  addApiToken(userid: string, tokenName: string, secret: string, options?: ApiTokenOptions): string;
  addContainer(container: SimContainer): void;
  setContainerStatus(vmid: number, status: 'running' | 'stopped'): void;
  /** Moves a container to another node, as a finished migration does. */
  migrateContainer(vmid: number, node: string): void;
  /** Changes the address eth0 reports; with `dhcp` the config says `ip=dhcp`, else `ip=<address>/8`. */
  setContainerAddress(vmid: number, address: string, options?: { dhcp?: boolean }): void;
  /** Removes a container and its config, as `pct destroy` does. */
  destroyContainer(vmid: number): void;
  /** Adds a VM; vmids are unique across containers and VMs. */
  addVm(vm: SimVm): void;
  setVmStatus(vmid: number, status: 'running' | 'stopped'): void;
  /** Changes the VM's `agent` option and whether the agent inside it answers. */
  setVmAgent(vmid: number, agent: { enabled?: boolean; running?: boolean }): void;
  /** Changes the IPv4 address the guest agent reports, as a new DHCP lease inside the VM does. */
  setVmAddress(vmid: number, address: string): void;
  /** Moves a VM to another node, as a finished migration does. */
  migrateVm(vmid: number, node: string): void;
  /** Removes a VM and its config, as `qm destroy` does. */
  destroyVm(vmid: number): void;
  readonly requestLog: ReadonlyArray<RequestLogEntry>;
  /** Makes matching requests fail as `fault` describes, before authentication, as a broken proxy or network would. */
  injectFault(fault: PveFault): void;
  /** Removes every fault and closes the connections that `hang` faults hold. */
  clearFaults(): void;
  stop(): Promise<void>;
}
