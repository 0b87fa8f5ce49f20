/**
 * The ingress proxy as the reconciler sees it. Only modules under `proxy/` know the proxy's syntax;
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
}

/** One HTTP route: requests whose Host is `hostname` go to `target`. */
export interface Route {
  hostname: string;
  target: { address: string; port: number };
}
