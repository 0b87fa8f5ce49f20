import { createServer, type IncomingHttpHeaders } from 'node:http';

import { findFreePort } from '../sandbox/ports.js';

/** A loopback HTTP server that returns its name, the request headers and the peer address as JSON. */
export interface EchoTarget {
  name: string;
  address: string;
  port: number;
  /** Status `/health` returns; tests set it to 503 to fail the health check. */
  healthStatus: number;
  requests: number;
  close(): Promise<void>;
}

export interface EchoAnswer {
  name: string;
  headers: IncomingHttpHeaders;
  peer: string;
}

export async function startEchoTarget(address: string, name: string, fixedPort?: number): Promise<EchoTarget> {
  const port = fixedPort ?? (await findFreePort(address));
  const target: EchoTarget = {
    name,
    address,
    port,
    healthStatus: 200,
    requests: 0,
    close: () => Promise.resolve(),
  };
  const server = createServer((request, response) => {
    target.requests += 1;
    if (request.url === '/health') {
      response.writeHead(target.healthStatus, { 'content-type': 'text/plain' });
      response.end('health');
      return;
    }
    const body: EchoAnswer = { name, headers: request.headers, peer: request.socket.remoteAddress ?? '' };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, resolve);
  });
  target.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return target;
}
