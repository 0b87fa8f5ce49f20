import { RuntimeApiError, type RuntimeApi, type RuntimeRequestOptions } from './runtime-api.js';

/**
 * Runtime API command sequences for routes and certificates (HAProxy 2.6 and 3.0). Callers pass
 * only validated host names, map values and paths; the client rejects anything else that could
 * split a command.
 */

function isRejection(err: unknown, pattern: RegExp): boolean {
  return err instanceof RuntimeApiError && err.failure === 'rejected' && pattern.test(err.response);
}

/** Sets the map entry of `hostname`, adding it when the running map has none. */
export async function setMapEntry(
  api: RuntimeApi,
  mapFile: string,
  hostname: string,
  value: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `set map ${mapFile} ${hostname} ${value}` }, options);
  } catch (err) {
    // `add map` on an existing key would add a second entry, so it is used only when `set` found none.
    if (!isRejection(err, /entry not found/i)) throw err;
    await api.execute({ command: `add map ${mapFile} ${hostname} ${value}` }, options);
  }
}

/** Deletes the map entry of `hostname`; an entry that does not exist counts as deleted. */
export async function removeMapEntry(
  api: RuntimeApi,
  mapFile: string,
  hostname: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `del map ${mapFile} ${hostname}` }, options);
  } catch (err) {
    if (!isRejection(err, /not found/i)) throw err;
  }
}

/** Returns whether the running crt-list `crtListFile` contains `certificatePath`. */
export async function crtListContains(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  options: RuntimeRequestOptions,
): Promise<boolean> {
  const output = await api.execute({ command: `show ssl crt-list ${crtListFile}` }, options);
  return output.split('\n').some((line) => line.trim().split(/\s+/)[0] === certificatePath);
}

/**
 * Loads `bundle` into the certificate store entry `certificatePath` and adds the entry to the
 * crt-list when it is not there yet. An existing certificate is replaced with set and commit only,
 * so connections keep being served without a crt-list change.
 */
export async function applyCertificate(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  bundle: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  try {
    await api.execute({ command: `new ssl cert ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /already exists/i)) throw err;
  }

  await api.execute({ command: `set ssl cert ${certificatePath}`, payload: bundle }, options);
  try {
    await api.execute({ command: `commit ssl cert ${certificatePath}`, expect: /Success!/ }, options);
  } catch (err) {
    // An uncommitted transaction would block the next `set ssl cert` on the same entry.
    await api.execute({ command: `abort ssl cert ${certificatePath}` }, options).catch(() => undefined);
    throw err;
  }

  if (!(await crtListContains(api, crtListFile, certificatePath, options))) {
    await api.execute({ command: `add ssl crt-list ${crtListFile} ${certificatePath}`, expect: /Success!/ }, options);
  }
}

/** Removes `certificatePath` from the crt-list and then from the certificate store; missing entries count as removed. */
export async function removeCertificate(
  api: RuntimeApi,
  crtListFile: string,
  certificatePath: string,
  options: RuntimeRequestOptions,
): Promise<void> {
  // HAProxy refuses to delete a certificate that a crt-list still uses, hence this order.
  try {
    await api.execute({ command: `del ssl crt-list ${crtListFile} ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /does not exist|can't be found/i)) throw err;
  }
  try {
    await api.execute({ command: `del ssl cert ${certificatePath}` }, options);
  } catch (err) {
    if (!isRejection(err, /doesn't exist|does not exist/i)) throw err;
  }
}

/** A server of a route backend as the runtime API sees it. */
export interface ServerSpec {
  backend: string;
  name: string;
  address: string;
  port: number;
  /** Keywords from serverKeywords(): protocol and health check. */
  keywords: readonly string[];
  /** true: in maintenance (no traffic); false: ready. */
  maintenance: boolean;
  healthCheck: boolean;
}

/**
 * Adds a dynamic server (HAProxy 2.6 `add server`, no experimental mode needed). A new server starts
 * in maintenance, so it is enabled afterwards unless it should stay there. A leftover server of the
 * same name, kept because it still had connections when it was removed, is deleted first.
 */
export async function addServer(api: RuntimeApi, server: ServerSpec, options: RuntimeRequestOptions): Promise<void> {
  const id = `${server.backend}/${server.name}`;
  const address = `${server.address}:${server.port}`;
  const add = { command: ['add server', id, address, ...server.keywords].join(' '), expect: /New server registered/ };
  try {
    await api.execute(add, options);
  } catch (err) {
    if (!isRejection(err, /already exists/i)) throw err;
    await deleteServer(api, server.backend, server.name, options);
    await api.execute(add, options);
  }
  if (server.healthCheck) await api.execute({ command: `enable health ${id}` }, options);
  if (!server.maintenance) await api.execute({ command: `set server ${id} state ready` }, options);
}

/** Moves an existing server to another address and port, and sets its state. */
export async function updateServer(api: RuntimeApi, server: ServerSpec, options: RuntimeRequestOptions): Promise<void> {
  const id = `${server.backend}/${server.name}`;
  await api.execute({ command: `set server ${id} addr ${server.address} port ${server.port}` }, options);
  await api.execute({ command: `set server ${id} state ${server.maintenance ? 'maint' : 'ready'}` }, options);
}

/**
 * Puts a server in maintenance and deletes it. HAProxy refuses to delete a server that still has
 * connections; it then stays in maintenance (no new traffic) and addServer() deletes it on reuse.
 * Returns false in that case.
 */
export async function deleteServer(api: RuntimeApi, backend: string, name: string, options: RuntimeRequestOptions): Promise<boolean> {
  const id = `${backend}/${name}`;
  try {
    await api.execute({ command: `set server ${id} state maint` }, options);
  } catch (err) {
    if (isRejection(err, /No such server|No such backend/i)) return true;
    throw err;
  }
  try {
    await api.execute({ command: `del server ${id}`, expect: /Server deleted/ }, options);
    return true;
  } catch (err) {
    if (isRejection(err, /connection|still|cannot|Only servers/i) || (err instanceof RuntimeApiError && /connection/i.test(err.response))) return false;
    throw err;
  }
}
