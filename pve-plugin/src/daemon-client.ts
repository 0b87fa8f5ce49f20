/**
 * Calls to pve-domainsd's HTTPS API. pveproxy cannot forward foreign API paths, so the UI calls
 * the daemon's own port on the page's host name. The browser sends the host-only PVEAuthCookie
 * to every port of the same host; writes carry the session's CSRFPreventionToken, as pveproxy
 * requires for ticket-authenticated writes.
 */

/** The daemon's port when nothing else is set (its `api.listen.port` default). */
export const defaultDaemonPort = 8016;

/** Optional page global that moves the daemon: `{daemonPort}` or a full `{daemonUrl}`. */
interface DaemonSettings {
  daemonPort?: number;
  daemonUrl?: string;
}

/** Local-storage key where an administrator may store another daemon port for this browser. */
const portStorageKey = 'PVEDomainsDaemonPort';

function pageSettings(): DaemonSettings {
  const value = (window as unknown as { PVEDomainsSettings?: DaemonSettings }).PVEDomainsSettings;
  return typeof value === 'object' && value !== null ? value : {};
}

/** Returns the daemon's base URL, such as `https://pve1.example.com:8016`, without a trailing slash. */
export function daemonBaseUrl(): string {
  const settings = pageSettings();
  if (typeof settings.daemonUrl === 'string' && settings.daemonUrl !== '') return settings.daemonUrl.replace(/\/+$/, '');
  const stored = Number(window.localStorage.getItem(portStorageKey) ?? '');
  const port = settings.daemonPort ?? (Number.isInteger(stored) && stored > 0 && stored < 65536 ? stored : defaultDaemonPort);
  return `https://${window.location.hostname}:${port}`;
}

/** A failed daemon call: `status` 0 when the daemon could not be reached at all. */
export class DaemonError extends Error {
  readonly status: number;
  /** Messages per request field, from the API's `errors` object. */
  readonly errors: Record<string, string>;
  readonly url: string;

  constructor(status: number, message: string, errors: Record<string, string>, url: string) {
    super(message);
    this.name = 'DaemonError';
    this.status = status;
    this.errors = errors;
    this.url = url;
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function readErrors(body: unknown): Record<string, string> {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  if (typeof errors !== 'object' || errors === null) return {};
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(errors)) if (typeof value === 'string') result[key] = value;
  return result;
}

/**
 * Sends one request to the daemon's `/api2/json` API and returns the response's `data`. Throws
 * DaemonError with status 0 when the browser got no response: the daemon is down, or the browser
 * does not trust its certificate (a fetch cannot tell the two apart).
 */
export async function callDaemon<T>(method: Method, path: string, body?: Record<string, unknown>, query?: Record<string, string>): Promise<T> {
  const search = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`;
  const url = `${daemonBaseUrl()}/api2/json${path}${search}`;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['CSRFPreventionToken'] = Proxmox.CSRFPreventionToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(url, { method, headers, credentials: 'include', mode: 'cors', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new DaemonError(0, unreachableMessage(), {}, url);
  }
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const message = typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string' ? (parsed as { message: string }).message : `${response.status} ${response.statusText}`;
    throw new DaemonError(response.status, message, readErrors(parsed), url);
  }
  return (parsed as { data: T }).data;
}

/** Plain-text explanation of an unreachable daemon, with its URL and the two ways out. */
export function unreachableMessage(): string {
  return Ext.String.format(
    gettext('The External Domains daemon at {0} does not answer. If pve-domainsd runs, your browser does not trust its certificate: open {0} once in a new tab and accept the certificate, or install pveproxy\'s certificate (or one your browser trusts) for the daemon. Otherwise start it with "systemctl start pve-domainsd".'),
    daemonBaseUrl(),
  );
}

/** HTML version of the unreachable message, with the daemon's URL as a link. */
export function unreachableHtml(): string {
  const base = Ext.String.htmlEncode(daemonBaseUrl());
  const link = `<a href="${base}/api2/json/" target="_blank" rel="noopener">${base}</a>`;
  return Ext.String.format(
    Ext.String.htmlEncode(
      gettext('The External Domains daemon at {0} does not answer. If pve-domainsd runs, your browser does not trust its certificate: open {0} once in a new tab and accept the certificate, or install pveproxy\'s certificate (or one your browser trusts) for the daemon. Otherwise start it with "systemctl start pve-domainsd".'),
    ),
    link,
  );
}

/** Returns the text to show for a failed call. */
export function errorText(err: unknown): string {
  if (err instanceof DaemonError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
