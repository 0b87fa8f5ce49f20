import { interfaceVisible, matchesInterfaceType } from '../node-network.js';
import { NODE_PARAMETER, type HandlerContext, type Route } from './route.js';

/** The `type` values of `GET /nodes/{node}/network` in the PVE 9.1 schema. */
const INTERFACE_TYPES: readonly string[] = [
  'bridge', 'bond', 'eth', 'alias', 'vlan', 'fabric', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort',
  'vnet', 'any_bridge', 'any_local_bridge', 'include_sdn',
];

function listInterfaces({ params, authid, state }: HandlerContext): unknown {
  const node = String(params.node);
  const type = params.type === undefined ? undefined : String(params.type);
  const interfaces = state.networks.get(node) ?? [];
  // NOTE: the simulator has no SDN, so `include_sdn` and `vnet` add no vnets.
  return interfaces
    .filter((item) => matchesInterfaceType(item, type))
    .filter((item) => interfaceVisible(state.access, authid, node, item))
    .map((item) => structuredClone(item));
}

export const networkRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/network',
    parameters: {
      node: NODE_PARAMETER,
      type: { type: 'string', optional: true, enum: INTERFACE_TYPES },
    },
    permissions: { user: 'all' },
    allowToken: true,
    proxyToNode: true,
    handle: listInterfaces,
  },
];
