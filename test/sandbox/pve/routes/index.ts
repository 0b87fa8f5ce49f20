import { accessRoutes } from './access.js';
import { createClusterRoutes } from './cluster.js';
import { firewallRoutes } from './firewall.js';
import { lxcRoutes } from './lxc.js';
import { networkRoutes } from './network.js';
import { qemuRoutes } from './qemu.js';
import type { HttpMethod, Route } from './route.js';

export type { HandlerContext, HttpMethod, PermissionSpec, Route, SimulatorState } from './route.js';

/** Every API method the simulator implements; `startedAt` (ms) anchors the node's uptime. */
export function createRoutes(startedAt: number): readonly Route[] {
  return [...accessRoutes, ...createClusterRoutes(startedAt), ...lxcRoutes, ...qemuRoutes, ...firewallRoutes, ...networkRoutes];
}

export interface RouteMatch {
  route: Route;
  /** Values of the `{name}` segments, percent-decoded. */
  uriParameters: Record<string, string>;
}

/** Finds the route for a method and a path below /api2/json; a trailing slash is ignored. */
export function matchRoute(routes: readonly Route[], method: HttpMethod, path: string): RouteMatch | undefined {
  const segments = path.split('/').filter((segment) => segment !== '');
  for (const route of routes) {
    if (route.method !== method) continue;
    const template = route.path.split('/').filter((segment) => segment !== '');
    if (template.length !== segments.length) continue;
    const uriParameters: Record<string, string> = {};
    const matched = template.every((part, i) => {
      const segment = segments[i] ?? '';
      const name = /^\{(.+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      uriParameters[name] = segment;
      return true;
    });
    if (matched) return { route, uriParameters };
  }
  return undefined;
}
