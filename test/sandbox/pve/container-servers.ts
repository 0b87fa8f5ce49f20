import { createServer, type Server } from 'node:http';

import { closeServer } from './simulator.js';
import type { SimContainer, SimVm } from './types.js';

export interface ContainerServers {
  stop(): Promise<void>;
}

/** What one stand-in serves: the guest's name in a page, on the guest's address and port. */
interface StandIn {
  kind: 'container' | 'VM';
  vmid: number;
  name: string;
  address: string;
  port: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function renderPage(standIn: Pick<StandIn, 'kind' | 'vmid' | 'name'>): string {
  const name = escapeHtml(standIn.name);
  return `<!DOCTYPE html>\n<html><head><title>${name}</title></head><body><h1>${name}</h1><p>${standIn.kind} ${standIn.vmid}</p></body></html>\n`;
}

/** Renders the page a container's stand-in server returns; tests look for the hostname in it. */
export function containerPage(container: SimContainer): string {
  return renderPage({ kind: 'container', vmid: container.vmid, name: container.hostname });
}

/** Renders the page a VM's stand-in server returns; tests look for the VM name in it. */
export function vmPage(vm: SimVm): string {
  return renderPage({ kind: 'VM', vmid: vm.vmid, name: vm.name });
}

function startServer(standIn: StandIn): Promise<Server> {
  const page = renderPage(standIn);
  const server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`method ${request.method ?? ''} not allowed; the stand-in for ${standIn.name} answers GET only\n`);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page) });
    response.end(request.method === 'HEAD' ? undefined : page);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot start the stand-in for ${standIn.kind} ${standIn.vmid} on ${standIn.address}:${standIn.port}: ${err.message}`)));
    server.listen({ host: standIn.address, port: standIn.port }, () => resolve(server));
  });
}

async function startServers(standIns: readonly StandIn[]): Promise<ContainerServers> {
  const servers: Server[] = [];
  try {
    for (const standIn of standIns) servers.push(await startServer(standIn));
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

/**
 * Starts one HTTP server per container on its address and port. Each returns a page naming the
 * container's hostname for every GET (text/html, 200). If one fails to start, the ones already
 * started are stopped and the error is raised.
 */
export function startContainerServers(containers: readonly SimContainer[]): Promise<ContainerServers> {
  return startServers(containers.map((container) => ({ kind: 'container', vmid: container.vmid, name: container.hostname, address: container.address, port: container.port })));
}

/** Starts one HTTP server per VM, like startContainerServers(), with pages naming the VM. */
export function startVmServers(vms: readonly SimVm[]): Promise<ContainerServers> {
  return startServers(vms.map((vm) => ({ kind: 'VM', vmid: vm.vmid, name: vm.name, address: vm.address, port: vm.port })));
}
