import {
  configDigest,
  configResponse,
  containerInterfaces,
  containerListItem,
  normalizeTags,
  type ContainerState,
} from '../containers.js';
import { assertDigest, handlerError, parameterError, permissionError } from '../errors.js';
import { splitList, type Parameters } from '../parameters.js';
import { NODE_PARAMETER, VMID_PARAMETER, type HandlerContext, type Route, type SimulatorState } from './route.js';

/** Loads a container's state, failing like PVE when its config file does not exist (HTTP 500). */
export function loadContainer(state: SimulatorState, params: Parameters): ContainerState {
  const vmid = Number(params.vmid);
  const container = state.containers.get(vmid);
  const node = typeof params.node === 'string' ? params.node : state.nodeName;
  // PVE looks for the config file under the node named in the path, so a wrong node is a missing file.
  if (container === undefined || container.node !== node) {
    throw handlerError(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
  }
  return container;
}

/**
 * Privilege each settable key needs on /vms/<vmid> (pve-container `check_ct_modify_config_perm`):
 * hostname is a network setting, memory and swap are memory, cores is CPU, the rest are options.
 */
const KEY_PRIVILEGES: Record<string, string> = {
  hostname: 'VM.Config.Network',
  memory: 'VM.Config.Memory',
  swap: 'VM.Config.Memory',
  cores: 'VM.Config.CPU',
  tags: 'VM.Config.Options',
  description: 'VM.Config.Options',
  onboot: 'VM.Config.Options',
};

function checkKeyPrivilege(context: HandlerContext, key: string): void {
  const privilege = KEY_PRIVILEGES[key] ?? 'VM.Config.Options';
  const path = `/vms/${String(context.params.vmid)}`;
  if (!context.state.access.hasPrivilege(context.authid, path, privilege)) {
    throw permissionError(`${path}, ${privilege}`);
  }
}

function updateConfig(context: HandlerContext): unknown {
  const { params } = context;
  const container = loadContainer(context.state, params);
  assertDigest(configDigest(container), params.digest);

  const deletions = params.delete === undefined ? [] : splitList(String(params.delete));
  for (const key of deletions) {
    if (params[key] !== undefined) {
      throw parameterError({ delete: `you can't use '-${key}' and -delete ${key}' at the same time` });
    }
    if (!(key in KEY_PRIVILEGES)) {
      // NOTE: PVE can delete further keys (mount points, net devices); the simulator only handles these.
      throw parameterError({ delete: `deleting '${key}' is not supported by the PVE simulator; it handles ${Object.keys(KEY_PRIVILEGES).join(', ')}` });
    }
    checkKeyPrivilege(context, key);
  }
  const settings = Object.keys(KEY_PRIVILEGES).filter((key) => params[key] !== undefined);
  for (const key of settings) checkKeyPrivilege(context, key);

  for (const key of deletions) container.config.delete(key);
  for (const key of settings) {
    const value = params[key];
    if (value === undefined) continue;
    if (key === 'tags') {
      const tags = normalizeTags([String(value)]);
      if (tags.length > 0) container.config.set('tags', tags.join(';'));
      else container.config.delete('tags');
    } else if (value === '') {
      container.config.delete(key);
    } else {
      container.config.set(key, value);
    }
  }
  return null;
}

function readConfig(context: HandlerContext): unknown {
  const container = loadContainer(context.state, context.params);
  if (context.params.snapshot !== undefined) {
    // The simulator keeps no snapshots, so every snapshot name is unknown.
    throw handlerError(`snapshot '${String(context.params.snapshot)}' does not exist`);
  }
  return configResponse(container);
}

function readInterfaces(context: HandlerContext): unknown {
  const container = loadContainer(context.state, context.params);
  // PVE reads the addresses inside the running container, so a stopped one has no data.
  return container.status === 'running' ? containerInterfaces(container) : null;
}

function readStatus(context: HandlerContext): unknown {
  const container = loadContainer(context.state, context.params);
  const item = containerListItem(container, context.state.now());
  return { ...item, ha: { managed: 0 } };
}

function listContainers({ params, authid, state }: HandlerContext): unknown {
  const now = state.now();
  return [...state.containers.values()]
    .filter((container) => container.node === params.node)
    .sort((a, b) => a.vmid - b.vmid)
    .filter((container) => state.access.hasPrivilege(authid, `/vms/${container.vmid}`, 'VM.Audit'))
    .map((container) => containerListItem(container, now));
}

const CONTAINER_PARAMETERS = { node: NODE_PARAMETER, vmid: VMID_PARAMETER } as const;
const AUDIT: Route['permissions'] = { check: ['perm', '/vms/{vmid}', ['VM.Audit']] };

export const lxcRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/lxc',
    parameters: { node: NODE_PARAMETER },
    permissions: { user: 'all' },
    allowToken: true,
    proxyToNode: true,
    handle: listContainers,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/status/current',
    parameters: CONTAINER_PARAMETERS,
    permissions: AUDIT,
    allowToken: true,
    proxyToNode: true,
    handle: readStatus,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/config',
    parameters: {
      ...CONTAINER_PARAMETERS,
      current: { type: 'boolean', optional: true },
      snapshot: { type: 'string', optional: true, maxLength: 40, format: 'pve-configid' },
    },
    permissions: AUDIT,
    allowToken: true,
    proxyToNode: true,
    handle: readConfig,
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/lxc/{vmid}/config',
    parameters: {
      ...CONTAINER_PARAMETERS,
      tags: { type: 'string', optional: true, format: 'pve-tag-list' },
      description: { type: 'string', optional: true, maxLength: 8192 },
      hostname: { type: 'string', optional: true, maxLength: 255, format: 'dns-name' },
      memory: { type: 'integer', optional: true, minimum: 16 },
      swap: { type: 'integer', optional: true, minimum: 0 },
      cores: { type: 'integer', optional: true, minimum: 1, maximum: 8192 },
      onboot: { type: 'boolean', optional: true },
      delete: { type: 'string', optional: true, format: 'pve-configid-list' },
      digest: { type: 'string', optional: true, maxLength: 40 },
    },
    permissions: {
      check: ['perm', '/vms/{vmid}', ['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options'], 'any', 1],
    },
    allowToken: true,
    proxyToNode: true,
    handle: updateConfig,
  },
  {
    method: 'GET',
    path: '/nodes/{node}/lxc/{vmid}/interfaces',
    parameters: CONTAINER_PARAMETERS,
    permissions: AUDIT,
    allowToken: true,
    proxyToNode: true,
    handle: readInterfaces,
  },
];
