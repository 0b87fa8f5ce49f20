import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describeEndpoint, type Endpoint } from './connection.js';
import { ApiError, ConnectionError } from './errors.js';

/** The PVE-style envelope of every response. */
export interface ApiBody {
  data?: unknown;
  message?: string;
  errors?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  body: ApiBody;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below /api2/json, already encoded, such as `/services/app.example.com`. */
  path: string;
  query?: Readonly<Record<string, string | string[]>>;
  body?: Readonly<Record<string, unknown>>;
  /** Milliseconds; 60 s by default. */
  timeoutMs?: number;
}

const tlsVerificationCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Says what failed and what to try, for a transport error. */
function connectionFailure(endpoint: Endpoint, err: NodeJS.ErrnoException): ConnectionError {
  const where = describeEndpoint(endpoint);
  const code = err.code ?? '';
  if (endpoint.kind === 'socket') {
    if (code === 'EACCES') return new ConnectionError(`permission denied on the socket ${where}; it is root-only: run pve-domains as root, or use --host with an API token`);
    return new ConnectionError(`unable to connect to pve-domainsd at ${where}: ${err.message}; check that the daemon runs (systemctl status pve-domainsd), or give the socket with --socket`);
  }
  if (tlsVerificationCodes.has(code)) {
    return new ConnectionError(
      `the certificate of ${where} could not be verified (${code}${endpoint.caFile === undefined ? ', checked against the system CAs' : `, checked against ${endpoint.caFile}`}); pass --ca FILE with the cluster CA (/etc/pve/pve-root-ca.pem of a node)`,
    );
  }
  return new ConnectionError(`unable to connect to pve-domainsd at ${where}: ${err.message}; check the host and the port of the daemon's HTTPS API (api.listen, 8016 by default)`);
}

function queryString(query: Readonly<Record<string, string | string[]>> | undefined): string {
  if (query === undefined) return '';
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) for (const item of Array.isArray(value) ? value : [value]) search.append(name, item);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** Sends one request; resolves with any HTTP status, rejects with ConnectionError when no API response arrives. */
export function callApi(endpoint: Endpoint, request: ApiRequest): Promise<ApiAnswer> {
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const headers: Record<string, string | number> = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  const path = `/api2/json${request.path}${queryString(request.query)}`;
  const timeoutMs = request.timeoutMs ?? 60_000;

  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // GET /metrics answers in Prometheus' text format, which is printed as it is.
        if (res.statusCode === 200 && (res.headers['content-type'] ?? '').startsWith('text/plain')) {
          resolve({ status: 200, body: { data: text.trimEnd() } });
          return;
        }
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ApiBody });
        } catch {
          reject(new ConnectionError(`${describeEndpoint(endpoint)} answered HTTP ${res.statusCode ?? 0} with a body that is not JSON (${text.slice(0, 120)}); is it pve-domainsd?`));
        }
      });
      res.on('error', (err) => reject(connectionFailure(endpoint, err)));
    };
    let req: ClientRequest;
    if (endpoint.kind === 'socket') {
      req = httpRequest({ socketPath: endpoint.socket, method: request.method, path, headers, timeout: timeoutMs }, onResponse);
    } else {
      headers['authorization'] = `PVEAPIToken=${endpoint.token}`;
      req = httpsRequest({ host: endpoint.host, port: endpoint.port, method: request.method, path, headers, timeout: timeoutMs, ca: endpoint.ca, agent: false }, onResponse);
    }
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(connectionFailure(endpoint, err)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Sends one request and returns its `data`; an error status becomes an ApiError with PVE's message. */
export async function apiData(endpoint: Endpoint, request: ApiRequest): Promise<unknown> {
  const answer = await callApi(endpoint, request);
  if (answer.status >= 400) throw new ApiError(answer.status, answer.body.message ?? `HTTP ${answer.status}`, answer.body.errors ?? {});
  return answer.body.data;
}
