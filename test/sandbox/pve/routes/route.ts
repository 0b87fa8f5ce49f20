import type { AccessStore } from '../access.js';
import type { ContainerState } from '../containers.js';
import type { NetworkInterfaceItem } from '../node-network.js';
import type { ParameterSchema, ParameterSchemas, Parameters } from '../parameters.js';
import type { TicketAuthority } from '../tickets.js';
import type { VmState } from '../vms.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A `perm` check as the PVE schema writes it; `{name}` in the path is replaced by that parameter. */
export type PermissionCheck =
  | readonly ['perm', string, readonly string[]]
  | readonly ['perm', string, readonly string[], 'any', 1];

/** The `permissions` field of a PVE API method: anyone, any authenticated user, or a privilege check. */
export type PermissionSpec = { readonly user: 'world' } | { readonly user: 'all' } | { readonly check: PermissionCheck };

/** State shared by all handlers of one simulator instance. */
export interface SimulatorState {
  readonly nodeName: string;
  /** Every node of the simulated cluster, `nodeName` first. */
  readonly nodes: readonly string[];
  readonly containers: Map<number, ContainerState>;
  readonly vms: Map<number, VmState>;
  /** Interfaces of each node, as `GET /nodes/{node}/network` lists them. */
  readonly networks: Map<string, NetworkInterfaceItem[]>;
  readonly access: AccessStore;
  readonly tickets: TicketAuthority;
  readonly now: () => number;
}

export interface HandlerContext {
  readonly params: Parameters;
  /** The authenticated user or token id; empty for unauthenticated calls. */
  readonly authid: string;
  readonly state: SimulatorState;
}

/**
 * One API method. `parameters`, `permissions`, `allowToken` and `proxyToNode` mirror the fields
 * of the same method in PVE's API schema, and a schema test compares them.
 */
export interface Route {
  readonly method: HttpMethod;
  /** Path template below /api2/json, such as '/nodes/{node}/lxc/{vmid}/config'. */
  readonly path: string;
  readonly parameters: ParameterSchemas;
  readonly permissions: PermissionSpec;
  readonly allowToken: boolean;
  /** PVE's `proxyto => 'node'`: a call for another node would be forwarded there. */
  readonly proxyToNode: boolean;
  handle(context: HandlerContext): unknown;
}

export const NODE_PARAMETER: ParameterSchema = { type: 'string', format: 'pve-node' };
export const VMID_PARAMETER: ParameterSchema = { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999_999_999 };
