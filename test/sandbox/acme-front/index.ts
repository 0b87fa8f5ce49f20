import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ariCertificateId } from '../../../daemon/src/acme/ari.js';
import { splitPemChain } from '../../../daemon/src/acme/certificate-check.js';

/**
 * A fault-injecting HTTPS front for Pebble. It forwards every request with its Host header, so
 * that Pebble writes the front's address into every URL, and it can add RFC 9773 renewalInfo
 * (Pebble 2.4 from Debian bookworm has none), answer with scripted problem documents, and hold
 * orders in `processing`.
 */
export interface AcmeFront {
  readonly directoryUrl: string;
  /** newOrder payloads seen, in order. */
  readonly orders: Array<{ identifiers: Array<{ value: string }>; replaces?: string }>;
  /** renewalInfo requests seen (certificate ids). */
  readonly renewalInfoRequests: string[];
  /** Number of requests whose method and path match. */
  count(method: string, pathPrefix: string): number;
  /** Every request received, with its arrival time in epoch milliseconds. */
  readonly requestLog: ReadonlyArray<{ method: string; path: string; time: number }>;
  setAri(enabled: boolean): void;
  /** Window as fractions of the lifetime, and the Retry-After (s) of renewalInfo answers. */
  setAriWindow(startFraction: number, endFraction: number, retryAfterSeconds: number): void;
  inject(fault: FrontFault): void;
  /**
   * Adds `fields` to the `meta` object of the directory (RFC 8555 section 7.1.1), such as
   * `caaIdentities`, which Pebble does not publish.
   */
  setDirectoryMeta(fields: Record<string, unknown>): void;
  /** Answers the next `polls` order polls with `processing` and `Retry-After: retryAfterSeconds`. */
  holdProcessing(polls: number, retryAfterSeconds: number): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

export interface FrontFault {
  /**
   * `reply` (default) sends the problem document; `hang` sends no response until `clearFaults()`;
   * `reset` closes the connection without a response; `malformed` sends `status` with a problem
   * document cut off in the middle.
   */
  action?: 'reply' | 'hang' | 'reset' | 'malformed';
  /** HTTP method, or `*` for every method. */
  method: string;
  /** Path prefix such as `/order-plz` or `/finalize-order/`. */
  pathPrefix: string;
  status: number;
  /** Problem type without the `urn:ietf:params:acme:error:` prefix. */
  type: string;
  detail: string;
  headers?: Record<string, string>;
  times: number;
}

interface Upstream {
  host: string;
  port: number;
  ca: string;
}

function forward(upstream: Upstream, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: upstream.host, port: upstream.port, method, path, headers, ca: upstream.ca, servername: 'localhost', timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`pebble did not answer ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function jwsPayload(body: Buffer): Record<string, unknown> | null {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    if (typeof jws.payload !== 'string' || jws.payload === '') return null;
    return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Starts the front on 127.0.0.1 with the listener certificate of Pebble. */
export async function startAcmeFront(options: { pebbleDirectoryUrl: string; certFile: string; keyFile: string; caFile: string }): Promise<AcmeFront> {
  const pebbleUrl = new URL(options.pebbleDirectoryUrl);
  const upstream: Upstream = { host: pebbleUrl.hostname, port: Number(pebbleUrl.port), ca: await readFile(options.caFile, 'utf8') };
  const faults: Array<FrontFault & { remaining: number }> = [];
  const held = new Set<ServerResponse>();
  const orders: AcmeFront['orders'] = [];
  const renewalInfoRequests: string[] = [];
  const seen: Array<{ method: string; path: string; time: number }> = [];
  const certificates = new Map<string, { notBefore: number; notAfter: number }>();
  let ari = true;
  let window = { start: 0.5, end: 0.6, retryAfter: 1 };
  let processing = { polls: 0, retryAfter: 1 };
  let extraMeta: Record<string, unknown> = {};

  const freshNonce = async (): Promise<string> => {
    const answer = await forward(upstream, 'HEAD', '/nonce-plz', { host: `${pebbleUrl.host}` }, Buffer.alloc(0));
    return String(answer.headers['replay-nonce'] ?? '');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    seen.push({ method, path, time: Date.now() });
    const body = await readBody(req);

    if (method === 'GET' && path.startsWith('/renewal-info/')) {
      const certId = path.slice('/renewal-info/'.length);
      renewalInfoRequests.push(certId);
      const known = certificates.get(certId);
      if (!ari || known === undefined) {
        res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'unknown certificate' }));
        return;
      }
      const lifetime = known.notAfter - known.notBefore;
      const suggestedWindow = { start: new Date(known.notBefore + lifetime * window.start).toISOString(), end: new Date(known.notBefore + lifetime * window.end).toISOString() };
      res.writeHead(200, { 'content-type': 'application/json', 'retry-after': String(window.retryAfter) }).end(JSON.stringify({ suggestedWindow }));
      return;
    }

    const fault = faults.find((item) => item.remaining > 0 && (item.method === '*' || item.method === method) && path.startsWith(item.pathPrefix));
    if (fault !== undefined) {
      fault.remaining--;
      const action = fault.action ?? 'reply';
      if (action === 'hang') {
        held.add(res);
        res.once('close', () => held.delete(res));
        return;
      }
      if (action === 'reset') {
        // A TLS socket may refuse an RST; a plain close still ends the exchange without a response.
        try {
          res.socket?.resetAndDestroy();
        } catch {
          res.socket?.destroy();
        }
        return;
      }
      const problem = JSON.stringify({ type: `urn:ietf:params:acme:error:${fault.type}`, detail: fault.detail, status: fault.status });
      const text = action === 'malformed' ? problem.slice(0, Math.floor(problem.length / 2)) : problem;
      res.writeHead(fault.status, { 'content-type': 'application/problem+json', 'replay-nonce': await freshNonce(), ...(fault.headers ?? {}) }).end(text);
      return;
    }

    if (method === 'POST' && path === '/order-plz') {
      const payload = jwsPayload(body);
      if (payload !== null) orders.push(payload as unknown as AcmeFront['orders'][number]);
    }
    const headers = { ...req.headers };
    const answer = await forward(upstream, method, path, headers, body);
    let out = answer.body;
    const outHeaders: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined && key !== 'content-length' && key !== 'transfer-encoding' && key !== 'connection') outHeaders[key] = value;

    if (path === '/dir' && answer.status === 200 && (ari || Object.keys(extraMeta).length > 0)) {
      const directory = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      if (ari) directory['renewalInfo'] = `https://${req.headers.host ?? ''}/renewal-info/`;
      const meta = typeof directory['meta'] === 'object' && directory['meta'] !== null ? (directory['meta'] as Record<string, unknown>) : {};
      if (Object.keys(extraMeta).length > 0) directory['meta'] = { ...meta, ...extraMeta };
      out = Buffer.from(JSON.stringify(directory));
    }
    if (method === 'POST' && path.startsWith('/my-order/') && processing.polls > 0 && answer.status === 200) {
      processing.polls--;
      const order = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      order['status'] = 'processing';
      delete order['certificate'];
      out = Buffer.from(JSON.stringify(order));
      outHeaders['retry-after'] = String(processing.retryAfter);
    }
    if (String(answer.headers['content-type'] ?? '').startsWith('application/pem-certificate-chain')) {
      const leaf = splitPemChain(answer.body.toString('utf8'))[0];
      if (leaf !== undefined) {
        const id = ariCertificateId(leaf);
        const parsed = new X509Certificate(leaf);
        if (id !== null) certificates.set(id, { notBefore: Date.parse(parsed.validFrom), notAfter: Date.parse(parsed.validTo) });
      }
    }
    res.writeHead(answer.status, outHeaders).end(out);
  };

  const server: Server = createServer({ cert: await readFile(options.certFile), key: await readFile(options.keyFile) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`acme front: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    orders,
    renewalInfoRequests,
    count: (method, pathPrefix) => seen.filter((item) => item.method === method && item.path.startsWith(pathPrefix)).length,
    requestLog: seen,
    setAri(enabled) {
      ari = enabled;
    },
    setAriWindow(startFraction, endFraction, retryAfterSeconds) {
      window = { start: startFraction, end: endFraction, retryAfter: retryAfterSeconds };
    },
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times });
    },
    setDirectoryMeta(fields) {
      extraMeta = { ...fields };
    },
    holdProcessing(polls, retryAfterSeconds) {
      processing = { polls, retryAfter: retryAfterSeconds };
    },
    clearFaults() {
      faults.length = 0;
      for (const response of held) response.socket?.destroy();
      held.clear();
      processing = { polls: 0, retryAfter: 1 };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
