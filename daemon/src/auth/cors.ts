/** Port of the PVE web UI (pveproxy); the UI origin of a node is `https://<host>:8006`. */
export const PVE_UI_PORT = 8006;

/** Methods and request headers a permitted origin may use; PVE's UI sends CSRFPreventionToken on every Ext.Ajax call. */
export const CORS_ALLOWED_METHODS = 'GET, POST, PUT, DELETE';
export const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, CSRFPreventionToken';
/** How long a browser may reuse a preflight response, in seconds. */
export const CORS_MAX_AGE_S = 600;

/** Returns `origin` in the serialized form browsers send (`scheme://host[:port]`), or undefined when it is not an http(s) origin. */
export function normaliseOrigin(origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return url.origin;
}

/** Returns the host name of a Host header without the port; IPv6 literals keep their brackets. */
function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  try {
    return new URL(`https://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Decides which browser origins may call the API with credentials: the PVE UI on the same host
 * name as the request (`https://<Host without port>:8006`) and the origins the administrator lists.
 * A page that reaches the daemon under another name through DNS rebinding passes this check, but
 * the TLS certificate does not match that name and the browser has no PVE cookie for it.
 */
export class CorsPolicy {
  readonly #extraOrigins: ReadonlySet<string>;

  /** `extraOrigins` must be serialized origins such as `https://pve.example.com:8006`. */
  constructor(extraOrigins: readonly string[]) {
    const normalised = new Set<string>();
    for (const origin of extraOrigins) {
      const value = normaliseOrigin(origin);
      if (value === undefined) throw new Error(`invalid CORS origin '${origin}': enter an origin such as https://pve.example.com:8006`);
      normalised.add(value);
    }
    this.#extraOrigins = normalised;
  }

  isAllowed(origin: string, host: string | undefined): boolean {
    const value = normaliseOrigin(origin);
    if (value === undefined) return false;
    if (this.#extraOrigins.has(value)) return true;
    const hostname = hostnameOf(host);
    return hostname !== undefined && value === `https://${hostname}:${PVE_UI_PORT}`;
  }
}
