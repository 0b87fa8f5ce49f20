import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer } from 'node:net';

import { findFreePort } from '../sandbox/ports.js';

/** Loopback targets and a client for the sign-in gate and error page tests. */

export interface Closable {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Sends a server-sent event every `intervalMs`, `count` times, then ends the stream. */
export async function startEventSource(address: string, intervalMs: number, count: number): Promise<Closable> {
  const port = await findFreePort(address);
  const server = createHttpServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    let sent = 0;
    const send = (): void => {
      response.write(`data: ${sent} ${Date.now()}\n\n`);
      sent += 1;
      if (sent >= count) {
        clearInterval(timer);
        response.end();
      }
    };
    const timer = setInterval(send, intervalMs);
    send();
    request.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen({ host: address, port }, resolve));
  return {
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Replies to every connection with bytes that are not HTTP, so HAProxy returns 502. */
export async function startBrokenTarget(address: string): Promise<Closable> {
  const port = await findFreePort(address);
  const server = createTcpServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end('this is not http\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen({ host: address, port }, resolve));
  return { address, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface GateResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface GateRequest {
  port: number;
  hostname: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Sends the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** Plain HTTP instead of HTTPS. */
  plain?: boolean;
}

/** Sends one request to the ingress on 127.0.0.1 and reads the whole response. */
export function send(options: GateRequest): Promise<GateResponse> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { host: options.hostname, ...options.headers };
  if (body !== undefined && options.chunked !== true) headers['content-length'] = String(body.length);
  if (options.chunked === true) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port: options.port, method: options.method ?? 'GET', path: options.path ?? '/', headers, agent: false, timeout: 5000 };
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    };
    const request = options.plain === true ? httpRequest(common, onResponse) : httpsRequest({ ...common, servername: options.hostname, rejectUnauthorized: false }, onResponse);
    request.on('timeout', () => request.destroy(new Error(`request to ${options.hostname}${options.path ?? '/'} timed out`)));
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

export interface StreamTiming {
  status: number;
  /** Milliseconds between the event's own timestamp and its arrival, per event. */
  delays: number[];
  events: number;
}

/** Reads a server-sent event stream through the ingress and measures how late each event arrives. */
export function readEventStream(port: number, hostname: string, headers: Record<string, string> = {}): Promise<StreamTiming> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { host: '127.0.0.1', port, path: '/events', servername: hostname, headers: { host: hostname, accept: 'text/event-stream', ...headers }, rejectUnauthorized: false, agent: false, timeout: 10_000 },
      (response) => {
        const delays: number[] = [];
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          pending += chunk;
          let end = pending.indexOf('\n\n');
          while (end !== -1) {
            const sentAt = Number(/^data: \d+ (\d+)$/m.exec(pending.slice(0, end))?.[1]);
            if (Number.isFinite(sentAt)) delays.push(Date.now() - sentAt);
            pending = pending.slice(end + 2);
            end = pending.indexOf('\n\n');
          }
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, delays, events: delays.length }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('event stream timed out')));
    request.on('error', reject);
    request.end();
  });
}

/** Posts `body` over HTTP/2 without content-length and returns the response status. */
export function postHttp2WithoutLength(port: number, hostname: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { servername: hostname, rejectUnauthorized: false });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/upload', ':authority': hostname });
    stream.setTimeout(5000, () => stream.close());
    stream.on('response', (headers) => {
      resolve(Number(headers[':status']));
      session.close();
    });
    stream.on('error', reject);
    stream.end(body);
  });
}
