import { generateKeyPairSync } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { findFreePort } from '../ports.js';
import { AccessStore } from './access.js';
import { authenticate, presentedCredential, type Authentication } from './authentication.js';
import { createContainerState, type ContainerState } from './containers.js';
import { ApiError, BareHttpError, parameterError, permissionError } from './errors.js';
import { createNodeInterfaces, DEFAULT_NODE_NETWORK, type NetworkInterfaceItem } from './node-network.js';
import { validateParameters, type RawParameter } from './parameters.js';
import { decodeJsonBody, decodeUrlEncoded, readBody } from './request.js';
import { createRoutes, matchRoute, type HttpMethod, type PermissionSpec, type Route, type SimulatorState } from './routes/index.js';
import { TicketAuthority } from './tickets.js';
import type { PveFault, PveSimulator, PveSimulatorOptions, RequestLogEntry, SimContainer, SimVm } from './types.js';
import { createVmState, type VmState } from './vms.js';

const API_BASE = '/api2';
const KNOWN_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE'];
const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** Starts a PVE API simulator on a free port of a loopback address. */
export async function startPveSimulator(options: PveSimulatorOptions = {}): Promise<PveSimulator> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const wwwKey = options.wwwKey ?? generateWwwKey();
  const nodes = [options.nodeName ?? 'pve1', ...(options.otherNodes ?? [])];
  for (const node of Object.keys(options.nodeNetworks ?? {})) {
    if (!nodes.includes(node)) throw new Error(`nodeNetworks names node ${node}, which is not a simulator node; add it to otherNodes`);
  }
  const networks = new Map<string, NetworkInterfaceItem[]>();
  for (const node of nodes) networks.set(node, createNodeInterfaces(node, options.nodeNetworks?.[node] ?? DEFAULT_NODE_NETWORK));
  const state: SimulatorState = {
    nodeName: nodes[0] ?? 'pve1',
    nodes,
    containers: new Map<number, ContainerState>(),
    vms: new Map<number, VmState>(),
    networks,
    access: new AccessStore(),
    tickets: new TicketAuthority(now, wwwKey),
    now,
  };
  const routes = createRoutes(now());
  const requestLog: RequestLogEntry[] = [];
  const delayMs = options.unauthorizedDelayMs ?? 0;

  const addContainer = (container: SimContainer): void => {
    if (state.containers.has(container.vmid) || state.vms.has(container.vmid)) {
      throw new Error(`guest ${container.vmid} already exists on the simulator; pick another vmid`);
    }
    state.containers.set(container.vmid, createContainerState(container, now(), state.nodeName));
  };
  for (const container of options.containers ?? []) addContainer(container);
  const addVm = (vm: SimVm): void => {
    if (state.containers.has(vm.vmid) || state.vms.has(vm.vmid)) {
      throw new Error(`guest ${vm.vmid} already exists on the simulator; pick another vmid`);
    }
    state.vms.set(vm.vmid, createVmState(vm, now(), state.nodeName));
  };
  for (const vm of options.vms ?? []) addVm(vm);

  const faults: Array<PveFault & { remaining: number }> = [];
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const time = Date.now();
    const path = new URL(request.url ?? '/', 'http://simulator.invalid').pathname;
    const fault = faults.find((candidate) => candidate.remaining > 0 && candidate.match({ method: request.method ?? 'GET', path }));
    if (fault !== undefined) {
      fault.remaining -= 1;
      requestLog.push({ method: request.method ?? 'GET', path, status: fault.action === 'reply' ? (fault.status ?? 500) : 0, auth: presentedCredential(request.headers), time, faulted: true });
      applyFault(fault, response, held);
      return;
    }
    void serveRequest(state, routes, request, response, delayMs).then((entry) => requestLog.push(entry));
  });
  const port = await listen(server, host);

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    nodeName: state.nodeName,
    wwwKey,
    requestLog,
    addUser: (userid, password, privileges) => state.access.addUser(userid, password, privileges),
    addApiToken: (userid, tokenName, secret, tokenOptions) => state.access.addApiToken(userid, tokenName, secret, tokenOptions),
    addContainer,
    setContainerStatus(vmid, status) {
      const container = state.containers.get(vmid);
      if (container === undefined) throw new Error(`cannot set status of container ${vmid}: it does not exist; call addContainer first`);
      if (container.status !== status && status === 'running') container.startedAt = now();
      container.status = status;
    },
    migrateContainer(vmid, node) {
      const container = requireContainer(state, vmid, 'migrate');
      if (!state.nodes.includes(node)) throw new Error(`cannot migrate container ${vmid} to ${node}: the simulator's nodes are ${state.nodes.join(', ')}`);
      container.node = node;
    },
    setContainerAddress(vmid, address, addressOptions = {}) {
      const container = requireContainer(state, vmid, 'readdress');
      container.address = address;
      const net0 = String(container.config.get('net0') ?? '');
      const ip = addressOptions.dhcp === true ? 'dhcp' : `${address}/8`;
      container.config.set('net0', net0.replace(/(^|,)ip=[^,]*/, `$1ip=${ip}`));
    },
    destroyContainer(vmid) {
      requireContainer(state, vmid, 'destroy');
      state.containers.delete(vmid);
    },
    addVm,
    setVmStatus(vmid, status) {
      const vm = requireVm(state, vmid, 'set the status of');
      if (vm.status !== status && status === 'running') vm.startedAt = now();
      vm.status = status;
    },
    setVmAgent(vmid, agent) {
      const vm = requireVm(state, vmid, 'configure the agent of');
      if (agent.enabled === true) vm.config.set('agent', '1');
      if (agent.enabled === false) vm.config.delete('agent');
      if (agent.running !== undefined) vm.agentRunning = agent.running;
    },
    setVmAddress(vmid, address) {
      requireVm(state, vmid, 'readdress').address = address;
    },
    migrateVm(vmid, node) {
      const vm = requireVm(state, vmid, 'migrate');
      if (!state.nodes.includes(node)) throw new Error(`cannot migrate VM ${vmid} to ${node}: the simulator's nodes are ${state.nodes.join(', ')}`);
      vm.node = node;
    },
    destroyVm(vmid) {
      requireVm(state, vmid, 'destroy');
      state.vms.delete(vmid);
    },
    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.times });
    },
    clearFaults() {
      faults.length = 0;
      for (const response of held) response.socket?.destroy();
      held.clear();
    },
    stop: () => closeServer(server),
  };
}

function applyFault(fault: PveFault, response: ServerResponse, held: Set<ServerResponse>): void {
  if (fault.action === 'hang') {
    held.add(response);
    response.once('close', () => held.delete(response));
    return;
  }
  if (fault.action === 'reset') {
    response.socket?.resetAndDestroy();
    return;
  }
  if (fault.action === 'malformed') {
    const text = JSON.stringify({ data: [{ vmid: 101, status: 'running' }] });
    response.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE, ...(fault.headers ?? {}) });
    response.end(text.slice(0, Math.floor(text.length / 2)));
    return;
  }
  const status = fault.status ?? 500;
  const message = fault.message ?? 'injected fault';
  sendJson(response, status, { data: null, message: `${message}\n` }, message, fault.headers);
}

/**
 * Makes the stand-in for `/etc/pve/pve-www.key`: a 2048-bit RSA key in PKCS#1 PEM, as pve-cluster
 * `Cluster/Setup.pm` `gen_pve_www_key` writes it. Only its bytes matter, as the CSRF secret's input.
 */
function generateWwwKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function requireContainer(state: SimulatorState, vmid: number, action: string): ContainerState {
  const container = state.containers.get(vmid);
  if (container === undefined) throw new Error(`cannot ${action} container ${vmid}: it does not exist; call addContainer first`);
  return container;
}

function requireVm(state: SimulatorState, vmid: number, action: string): VmState {
  const vm = state.vms.get(vmid);
  if (vm === undefined) throw new Error(`cannot ${action} VM ${vmid}: it does not exist; call addVm first`);
  return vm;
}

async function listen(server: Server, host: string): Promise<number> {
  const port = await findFreePort(host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err === undefined ? resolve() : reject(err))));
}

/** Handles one request and returns its log entry; the promise never rejects. */
async function serveRequest(
  state: SimulatorState,
  routes: readonly Route[],
  request: IncomingMessage,
  response: ServerResponse,
  unauthorizedDelayMs: number,
): Promise<RequestLogEntry> {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://simulator.invalid');
  const entry: RequestLogEntry = { method, path: url.pathname, status: 500, auth: presentedCredential(request.headers) };
  try {
    const path = decodePath(url.pathname);
    if (!KNOWN_METHODS.includes(method)) throw new BareHttpError(501, `method '${method}' not available`, false);
    if (!path.startsWith(API_BASE)) throw new BareHttpError(500, `no such file '${path}'`, true);

    const uri = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(path);
    if (uri === null) throw new BareHttpError(501, 'no such uri', true);
    const format = uri[1] ?? '';
    const relativePath = uri[2] ?? '/';

    const auth: Authentication = authenticate(state, method, relativePath, request.headers);

    const hasBody = Number(request.headers['content-length'] ?? '0') > 0 || request.headers['transfer-encoding'] !== undefined;
    if (hasBody && method !== 'PUT' && method !== 'POST') {
      throw new BareHttpError(501, `Unexpected content for method '${method}'`, true);
    }
    if (format !== 'json' && format !== 'extjs') {
      // NOTE: pveproxy also serves the html, htmljs and spiceconfig formats; the simulator serves json and extjs.
      throw new BareHttpError(501, `no formatter for uri ${relativePath}, ${format}`, true);
    }

    const body = await readBody(request);
    const params = extractParameters(method, request.headers['content-type'], body, url.searchParams.toString());
    try {
      const data = handleApiCall(state, routes, method as HttpMethod, relativePath, auth, params);
      sendJson(response, 200, format === 'extjs' ? { data, success: 1 } : { data });
    } catch (err) {
      if (format !== 'extjs' || !(err instanceof ApiError) || err.status === 401) throw err;
      sendExtjsError(response, err);
    }
    entry.status = 200;
  } catch (err) {
    entry.status = await sendError(response, err, unauthorizedDelayMs);
  }
  return entry;
}

/**
 * The extjs format of pve-http-server (`prepare_response_data` in PVE::APIServer::Formatter::Standard)
 * turns an API error into HTTP 200 with `success: 0` and the real status in the body, because
 * ExtJS forms read `success` instead of the status code. Authentication failures are answered
 * before any formatter runs and keep their 401.
 */
function sendExtjsError(response: ServerResponse, err: ApiError): void {
  const body: Record<string, unknown> = { data: null, success: 0, message: err.message, status: err.status };
  if (err.errors !== undefined) body.errors = err.errors;
  sendJson(response, 200, body);
}

/** pveproxy percent-decodes the whole path before routing, so '%2F' in a segment becomes '/'. */
function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** Body parameters of PUT and POST (form-encoded or JSON), overridden by query parameters; `_dc` is dropped. */
function extractParameters(method: string, contentType: string | undefined, body: string, query: string): Record<string, RawParameter> {
  let params: Record<string, RawParameter> = {};
  if (method === 'PUT' || method === 'POST') {
    const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
    params = mediaType === 'application/json' ? decodeJsonBody(body) : decodeUrlEncoded(body);
  }
  Object.assign(params, decodeUrlEncoded(query));
  delete params._dc;
  return params;
}

/**
 * Runs the steps of pve-manager `PVE/HTTPServer.pm` `rest_handler` in its order: find the method,
 * merge URI parameters, reject tokens where not allowed, check permissions, resolve the node,
 * then validate parameters and run the handler.
 */
function handleApiCall(
  state: SimulatorState,
  routes: readonly Route[],
  method: HttpMethod,
  relativePath: string,
  auth: Authentication,
  params: Record<string, RawParameter>,
): unknown {
  const match = matchRoute(routes, method, relativePath);
  if (match === undefined) throw new ApiError(501, `Method '${method} ${relativePath}' not implemented`);
  const { route, uriParameters } = match;

  const merged: Record<string, RawParameter> = { ...uriParameters };
  for (const [name, value] of Object.entries(params)) {
    const fromUri = uriParameters[name];
    if (fromUri !== undefined && fromUri !== value) {
      throw parameterError({ [name]: 'duplicate parameter (already defined in URI) with conflicting values!' });
    }
    merged[name] = value;
  }

  if (auth.kind === 'token' && !route.allowToken) {
    // PVE wraps this text, newline included, into "Permission check failed (...)".
    throw permissionError(`URI '${relativePath}' not available with API token, need proper ticket.\n`);
  }
  checkPermissions(state, route.permissions, auth.authid, uriParameters);

  if (route.proxyToNode && !state.nodes.includes(uriParameters.node ?? '')) {
    throw new ApiError(500, `no such cluster node '${uriParameters.node ?? ''}'\n`);
  }

  const validated = validateParameters(route.parameters, merged);
  if (!validated.ok) throw parameterError(validated.errors);
  return route.handle({ params: validated.values, authid: auth.authid, state });
}

/** `check_api2_permissions` of pve-access-control `RPCEnvironment.pm`, for the `perm` checks the routes use. */
function checkPermissions(state: SimulatorState, spec: PermissionSpec, authid: string, uriParameters: Record<string, string>): void {
  if (authid === '' && 'user' in spec && spec.user === 'world') return;
  if (authid === '') throw permissionError('user != null');
  if (authid === 'root@pam') return;
  if ('user' in spec) {
    if (spec.user === 'all') return;
    throw permissionError();
  }
  const [, pathTemplate, privileges, any] = spec.check;
  const path = pathTemplate.replace(/\{([^}]+)\}/g, (_, name: string) => uriParameters[name] ?? '');
  const granted = state.access.permissions(authid, path);
  if (any === 'any') {
    if (!privileges.some((privilege) => granted.has(privilege))) throw permissionError(`${path}, ${privileges.join('|')}`);
    return;
  }
  const missing = privileges.find((privilege) => !granted.has(privilege));
  if (missing !== undefined) throw permissionError(`${path}, ${missing}`);
}

function sendJson(response: ServerResponse, status: number, body: unknown, reason?: string, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, reason ?? STATUS_CODES[status] ?? '', {
    ...headers,
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

/** Sends an error as pveproxy would and returns the status sent. */
async function sendError(response: ServerResponse, err: unknown, unauthorizedDelayMs: number): Promise<number> {
  const status = err instanceof ApiError || err instanceof BareHttpError ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (status === 401 && unauthorizedDelayMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, unauthorizedDelayMs));
  }
  const reason = (message.split('\n')[0] ?? '').replace(/[^\t\x20-\x7e]/g, '?');
  if (response.headersSent) {
    response.destroy();
    return status;
  }
  if (err instanceof BareHttpError) {
    const body = err.sendBody ? message : '';
    response.writeHead(status, reason, { 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
    return status;
  }
  const envelope: Record<string, unknown> = { data: null, message };
  if (err instanceof ApiError && err.errors !== undefined) envelope.errors = err.errors;
  sendJson(response, status, envelope, reason);
  return status;
}
