import { containerResource } from '../containers.js';
import { vmResource } from '../vms.js';
import type { HandlerContext, Route, SimulatorState } from './route.js';

/** Version data the simulator reports; the release matches the PVE 9.1 API schema it follows. */
const VERSION = { version: '9.1.1', release: '9.1', repoid: '5ab0c3d1' } as const;

const NODE_CPUS = 8;
const NODE_MEMORY_BYTES = 32 * 1024 ** 3;
const NODE_DISK_BYTES = 100 * 1024 ** 3;
const STORAGE_ID = 'local';

/** Builds a node entry as `GET /nodes` and `GET /cluster/resources` return it; load figures need Sys.Audit on the node. */
function nodeEntry(state: SimulatorState, authid: string, uptimeSeconds: number): Record<string, string | number> {
  const entry: Record<string, string | number> = {
    id: `node/${state.nodeName}`,
    node: state.nodeName,
    type: 'node',
    status: 'online',
    level: '',
  };
  if (state.access.hasPrivilege(authid, `/nodes/${state.nodeName}`, 'Sys.Audit')) {
    Object.assign(entry, {
      uptime: uptimeSeconds,
      cpu: 0.02,
      mem: Math.floor(NODE_MEMORY_BYTES / 4),
      disk: Math.floor(NODE_DISK_BYTES / 5),
      maxcpu: NODE_CPUS,
      maxmem: NODE_MEMORY_BYTES,
      maxdisk: NODE_DISK_BYTES,
    });
  }
  return entry;
}

function storageEntry(state: SimulatorState): Record<string, string | number> {
  return {
    id: `storage/${state.nodeName}/${STORAGE_ID}`,
    type: 'storage',
    node: state.nodeName,
    storage: STORAGE_ID,
    status: 'available',
    plugintype: 'dir',
    content: 'backup,iso,vztmpl',
    shared: 0,
    disk: Math.floor(NODE_DISK_BYTES / 5),
    maxdisk: NODE_DISK_BYTES,
  };
}

export function createClusterRoutes(startedAt: number): readonly Route[] {
  const uptime = (state: SimulatorState): number => Math.floor((state.now() - startedAt) / 1000);

  const listNodes = ({ authid, state }: HandlerContext): unknown => {
    const entry = nodeEntry(state, authid, uptime(state));
    // The fingerprint is made up; the simulator serves plain HTTP and has no certificate.
    entry.ssl_fingerprint = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) % 256).toString(16).padStart(2, '0').toUpperCase()).join(':');
    return [entry];
  };

  const listResources = ({ params, authid, state }: HandlerContext): unknown => {
    const type = params.type === undefined ? undefined : String(params.type);
    const now = state.now();
    const resources: unknown[] = [];
    if (type === undefined || type === 'vm') {
      const guests = [
        ...[...state.containers.values()].map((container) => ({ vmid: container.vmid, item: () => containerResource(container, now) })),
        ...[...state.vms.values()].map((vm) => ({ vmid: vm.vmid, item: () => vmResource(vm, now) })),
      ];
      for (const guest of guests.sort((a, b) => a.vmid - b.vmid)) {
        if (state.access.hasPrivilege(authid, `/vms/${guest.vmid}`, 'VM.Audit')) resources.push(guest.item());
      }
    }
    if (type === undefined || type === 'node') {
      const entry = nodeEntry(state, authid, uptime(state));
      entry['cgroup-mode'] = 2;
      resources.push(entry);
    }
    if ((type === undefined || type === 'storage') && state.access.hasPrivilege(authid, `/storage/${STORAGE_ID}`, 'Datastore.Audit')) {
      resources.push(storageEntry(state));
    }
    // NOTE: the simulator has no pools and no SDN zones, so type=sdn returns an empty list.
    return resources;
  };

  return [
    {
      method: 'GET',
      path: '/version',
      parameters: {},
      permissions: { user: 'all' },
      allowToken: true,
      proxyToNode: false,
      handle: () => ({ ...VERSION }),
    },
    {
      method: 'GET',
      path: '/nodes',
      parameters: {},
      permissions: { user: 'all' },
      allowToken: true,
      proxyToNode: false,
      handle: listNodes,
    },
    {
      method: 'GET',
      path: '/cluster/resources',
      parameters: {
        type: { type: 'string', optional: true, enum: ['vm', 'storage', 'node', 'sdn'] },
      },
      permissions: { user: 'all' },
      allowToken: true,
      proxyToNode: false,
      handle: listResources,
    },
  ];
}
