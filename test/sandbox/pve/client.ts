/** A minimal raw client for tests that need to see statuses, reason phrases and headers as sent. */

export interface ApiCredentials {
  /** Ticket sent as the PVEAuthCookie cookie. */
  ticket?: string;
  /** CSRFPreventionToken header value. */
  csrfToken?: string;
  /** Full token id and secret, sent as `Authorization: PVEAPIToken=<id>=<secret>`. */
  token?: { id: string; secret: string };
}

export interface ApiResponse {
  status: number;
  statusText: string;
  contentType: string | null;
  /** Raw body text. */
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

/**
 * Calls `<baseUrl>/api2/json<path>`. GET and DELETE parameters go into the query string, PUT and
 * POST parameters into a form-encoded body, as the proxmox-api package sends them.
 */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  credentials: ApiCredentials = {},
  params: Record<string, string | number> = {},
): Promise<ApiResponse> {
  const url = new URL(`${baseUrl}/api2/json${path}`);
  const headers: Record<string, string> = {};
  if (credentials.ticket !== undefined) headers.Cookie = `PVEAuthCookie=${encodeURIComponent(credentials.ticket)}`;
  if (credentials.csrfToken !== undefined) headers.CSRFPreventionToken = credentials.csrfToken;
  if (credentials.token !== undefined) headers.Authorization = `PVEAPIToken=${credentials.token.id}=${credentials.token.secret}`;

  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) form.set(key, String(value));
  let body: string | undefined;
  if (method === 'PUT' || method === 'POST') {
    body = form.toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else {
    for (const [key, value] of form) url.searchParams.set(key, value);
  }

  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, statusText: response.statusText, contentType: response.headers.get('content-type'), text, json };
}

/** Logs in with a password and returns the ticket and CSRF token; throws on any non-200 response. */
export async function login(baseUrl: string, username: string, password: string): Promise<{ ticket: string; csrfToken: string }> {
  const response = await callApi(baseUrl, 'POST', '/access/ticket', {}, { username, password });
  const data = (response.json as { data?: { ticket?: string; CSRFPreventionToken?: string } } | undefined)?.data;
  if (response.status !== 200 || data?.ticket === undefined || data.CSRFPreventionToken === undefined) {
    throw new Error(`login of '${username}' failed: HTTP ${response.status} ${response.statusText} ${response.text}`);
  }
  return { ticket: data.ticket, csrfToken: data.CSRFPreventionToken };
}
