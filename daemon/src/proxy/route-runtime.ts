import { mapValues, serverKeywords, serverName, slotBackendName, type RouteMapValues } from './haproxy-config.js';
import type { ProxyPaths } from './paths.js';
import type { RouteRecord } from './route-table.js';
import type { RuntimeApi, RuntimeRequestOptions } from './runtime-api.js';
import { addServer, deleteServer, removeMapEntry, setMapEntry, updateServer, type ServerSpec } from './runtime-changes.js';

/**
 * Runtime API steps that bring a running HAProxy from route `previous` to route `next` without a
 * reload. The backend's servers are changed first and the host map last, so a new host is routed
 * only once its backend has servers.
 */

function serverSpecs(record: RouteRecord): ServerSpec[] {
  const keywords = serverKeywords(record.options);
  return record.targets.map((target, index) => ({
    backend: slotBackendName(record.slot),
    name: serverName(index),
    address: target.address,
    port: target.port,
    keywords,
    maintenance: record.maintenance,
    healthCheck: record.options.healthCheck !== null,
  }));
}

type OptionalMap = Exclude<keyof RouteMapValues, 'backend'>;

function optionalMaps(paths: ProxyPaths): Array<[OptionalMap, string]> {
  return [
    ['plainHttp', paths.plainHttpMapFile],
    ['hsts', paths.hstsMapFile],
    ['tunnel', paths.tunnelMapFile],
    ['cloudflare', paths.cloudflareMapFile],
    ['guestStopped', paths.guestStoppedMapFile],
  ];
}

export async function applyRouteChange(
  api: RuntimeApi,
  paths: ProxyPaths,
  previous: RouteRecord | undefined,
  next: RouteRecord,
  options: RuntimeRequestOptions,
): Promise<void> {
  const before = previous === undefined ? [] : serverSpecs(previous);
  const after = serverSpecs(next);
  for (let index = 0; index < Math.max(before.length, after.length); index++) {
    const old = before[index];
    const desired = after[index];
    if (desired === undefined) {
      if (old !== undefined) await deleteServer(api, old.backend, old.name, options);
      continue;
    }
    if (old === undefined) {
      await addServer(api, desired, options);
      continue;
    }
    if (old.keywords.join(' ') !== desired.keywords.join(' ')) {
      // Protocol and check settings of a dynamic server cannot be changed in place.
      await deleteServer(api, old.backend, old.name, options);
      await addServer(api, desired, options);
    } else if (old.address !== desired.address || old.port !== desired.port || old.maintenance !== desired.maintenance) {
      await updateServer(api, desired, options);
    }
  }

  const oldValues = previous === undefined ? undefined : mapValues(previous);
  const newValues = mapValues(next);
  for (const [key, file] of optionalMaps(paths)) {
    const value = newValues[key];
    if (value === oldValues?.[key]) continue;
    if (value === undefined) await removeMapEntry(api, file, next.hostname, options);
    else await setMapEntry(api, file, next.hostname, value, options);
  }
  if (oldValues?.backend !== newValues.backend) await setMapEntry(api, paths.mapFile, next.hostname, newValues.backend, options);
}

/**
 * Removes a route: the host map entry first, so no new request reaches the backend, then the
 * option maps and the servers. Returns the names of servers left in maintenance because they
 * still had connections.
 */
export async function removeRouteAtRuntime(
  api: RuntimeApi,
  paths: ProxyPaths,
  hostname: string,
  previous: RouteRecord | undefined,
  options: RuntimeRequestOptions,
): Promise<string[]> {
  await removeMapEntry(api, paths.mapFile, hostname, options);
  for (const [, file] of optionalMaps(paths)) await removeMapEntry(api, file, hostname, options);
  const leftovers: string[] = [];
  for (const server of previous === undefined ? [] : serverSpecs(previous)) {
    if (!(await deleteServer(api, server.backend, server.name, options))) leftovers.push(`${server.backend}/${server.name}`);
  }
  return leftovers;
}
