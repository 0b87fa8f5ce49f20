import type { RouteOptions } from './route-options.js';

/**
 * The ingress proxy as the reconciler uses it. Only modules under `proxy/` know the proxy's syntax;
 * everything handed in here has been validated by the caller (names are canonical lower-case
 * host names, ports are integers in 1..65535), and implementations still refuse anything that
 * could break out of a configuration line.
 *
 * Contract for every method: idempotent (calling twice with the same input is a no-op the
 * second time), safe to call concurrently (implementations serialise internally), and a change is
 * written to the files on disk in the same step as it is applied to the running proxy, so that a
 * restart serves the same routes and certificates.
 */
export interface IngressProxy {
  /** Writes the base configuration when missing, starts the proxy and waits until it serves. */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops the proxy process the implementation started, if any. */
  stop(): Promise<void>;
  /** Adds or replaces the route of `route.hostname`. */
  setRoute(route: Route, signal?: AbortSignal): Promise<void>;
  /** Removes the route of `hostname`; removing a route that does not exist succeeds. */
  removeRoute(hostname: string, signal?: AbortSignal): Promise<void>;
  /**
   * Installs or replaces the certificate stored under `id` (a canonical host name or
   * `*.domain`-style label from names.ts). `chainPem` is the leaf followed by its intermediates.
   */
  setCertificate(id: string, chainPem: string, keyPem: string, signal?: AbortSignal): Promise<void>;
  /** Removes the certificate `id`; removing one that does not exist succeeds. */
  removeCertificate(id: string, signal?: AbortSignal): Promise<void>;
  /** The routes the files on disk hold now. */
  listRoutes(): Promise<Route[]>;
  /** The certificate ids the files on disk hold now. */
  listCertificates(): Promise<string[]>;
  /**
   * The running proxy's view of every route: state of each target and request counters. Empty
   * when the proxy is not running.
   */
  routeStatus(signal?: AbortSignal): Promise<RouteStatus[]>;
}

export interface RouteTarget {
  address: string;
  port: number;
}

/**
 * One HTTP route: requests whose Host is `hostname` are balanced over `targets`. With no targets,
 * or with `maintenance` set, the route returns 503 with a maintenance page.
 */
export interface Route {
  hostname: string;
  targets: RouteTarget[];
  /** The guest is stopped: the targets are kept but get no traffic. */
  maintenance?: boolean;
  /** Settings of the route; missing fields take the defaults of route-options.ts. */
  options?: Partial<RouteOptions>;
}

export type TargetState = 'up' | 'down' | 'maintenance' | 'drain' | 'unknown';

export interface RouteStatus {
  hostname: string;
  targets: Array<RouteTarget & { state: TargetState; check: string | null }>;
  /** HTTP requests the route's backend received since the proxy last started or reloaded. */
  requests: number;
  /** 5xx responses plus connection and response errors towards the targets, over the same period. */
  errors: number;
}
