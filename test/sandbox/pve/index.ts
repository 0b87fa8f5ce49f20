/**
 * PVE API simulator and container stand-ins for the sandbox. The simulator follows the PVE 9.1
 * API for the endpoints in `routes/`; the container servers stand in for services in containers.
 */
export { startPveSimulator } from './simulator.js';
export { startContainerServers, containerPage, type ContainerServers } from './container-servers.js';
export { createRoutes } from './routes/index.js';
export type { Route, HttpMethod, PermissionSpec } from './routes/index.js';
export type { ParameterSchema } from './parameters.js';
export type {
  ApiTokenOptions,
  AuthKind,
  PrivilegeMap,
  PveSimulator,
  PveSimulatorOptions,
  RequestLogEntry,
  SimContainer,
} from './types.js';
