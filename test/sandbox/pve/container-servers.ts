import { createServer, type Server } from 'node:http';

import { closeServer } from './simulator.js';
import type { SimContainer } from './types.js';

export interface ContainerServers {
  stop(): Promise<void>;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Renders the page a container's stand-in server returns; tests look for the hostname in it. */
export function containerPage(container: SimContainer): string {
  const hostname = escapeHtml(container.hostname);
  return `<!DOCTYPE html>\n<html><head><title>${hostname}</title></head><body><h1>${hostname}</h1><p>container ${container.vmid}</p></body></html>\n`;
}

function startServer(container: SimContainer): Promise<Server> {
  const page = containerPage(container);
  const server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`method ${request.method ?? ''} not allowed; the stand-in for ${container.hostname} answers GET only\n`);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page) });
    response.end(request.method === 'HEAD' ? undefined : page);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot start the stand-in for container ${container.vmid} on ${container.address}:${container.port}: ${err.message}`)));
    server.listen({ host: container.address, port: container.port }, () => resolve(server));
  });
}

/**
 * Starts one HTTP server per container on its address and port. Each returns a page naming the
 * container's hostname for every GET (text/html, 200). If one fails to start, the ones already
 * started are stopped and the error is raised.
 */
export async function startContainerServers(containers: readonly SimContainer[]): Promise<ContainerServers> {
  const servers: Server[] = [];
  try {
    for (const container of containers) servers.push(await startServer(container));
  } catch (err) {
    await Promise.all(servers.map((server) => closeServer(server)));
    throw err;
  }
  return {
    stop: async () => {
      await Promise.all(servers.map((server) => closeServer(server)));
    },
  };
}
