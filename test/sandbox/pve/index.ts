/**
 * PVE API simulator and guest stand-ins for the sandbox. The simulator follows the PVE 9.1 API
 * for the endpoints in `routes/`; the stand-in servers stand in for services in containers and VMs.
 */
export { startPveSimulator } from './simulator.js';
export { startContainerServers, startVmServers, containerPage, vmPage, type ContainerServers } from './container-servers.js';
export { createRoutes } from './routes/index.js';
export type { Route, HttpMethod, PermissionSpec } from './routes/index.js';
export type { ParameterSchema } from './parameters.js';
export type { SimNodeNetwork } from './node-network.js';
export type {
  ApiTokenOptions,
  AuthKind,
  PrivilegeMap,
  PveSimulator,
  PveFault,
  PveSimulatorOptions,
  RequestLogEntry,
  SimContainer,
  SimVm,
} from './types.js';
