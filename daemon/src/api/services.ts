import type { FastifyInstance } from 'fastify';
import { AppError, invalidParameter } from '../errors.js';
import { normaliseHostname } from '../names.js';
import type { RouteStatus } from '../proxy/ingress.js';
import type { StoredService } from '../store/model.js';
import type { ApiContext } from './context.js';
import { applyServiceOptions, serviceOptionProperties, type ServiceOptionsBody } from './service-options.js';
import { applyServiceProtocol, checkExternalPort, reservedPorts, serviceProtocolProperties, type ReservedPort, type ServiceProtocolBody } from './service-protocol.js';
import { parseDomainName, parseSubdomain } from './validation.js';
import { certificatesById, routesByHostname, serviceView } from './views.js';

interface CreateServiceBody extends ServiceOptionsBody, ServiceProtocolBody {
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
}

interface UpdateServiceBody extends ServiceOptionsBody, ServiceProtocolBody {
  vmid?: number;
  port?: number;
}

/**
 * Optional addition to the API context: the ingress's live view of the routes. The daemon passes
 * it; without it the views carry no live state.
 */
export interface LiveRouteSource {
  routeStatus?: () => Promise<RouteStatus[]>;
}

async function liveStatus(context: ApiContext): Promise<RouteStatus[]> {
  const live = context as ApiContext & LiveRouteSource;
  if (live.routeStatus === undefined) return [];
  try {
    return await live.routeStatus();
  } catch (err) {
    context.logger.warn({ err }, 'cannot read the live route status from the ingress');
    return [];
  }
}

/**
 * Optional addition to the API context: the ports of this node that no tcp or udp service may
 * take (see service-protocol.ts). The daemon passes them; without them the defaults apply.
 */
export interface ReservedPortSource {
  reservedPorts?: readonly ReservedPort[];
}

function reservedPortsOf(context: ApiContext): readonly ReservedPort[] {
  return (context as ApiContext & ReservedPortSource).reservedPorts ?? reservedPorts();
}

/** PVE's guest id range (pve-common, `pve-vmid` format). */
const minVmid = 100;
const maxVmid = 999_999_999;

const createServiceSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['subdomain', 'domain', 'vmid', 'port'],
    properties: {
      subdomain: { type: 'string', maxLength: 300, description: 'Name below the domain, e.g. app for app.example.com.' },
      domain: { type: 'string', maxLength: 300, description: 'A registered domain.' },
      vmid: { type: 'integer', minimum: minVmid, maximum: maxVmid, description: 'Id of the container that runs the service.' },
      port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port of the HTTP service inside the container.' },
      ...serviceOptionProperties,
      ...serviceProtocolProperties,
    },
  },
} as const;

const updateServiceSchema = {
  params: {
    type: 'object',
    required: ['fqdn'],
    properties: { fqdn: { type: 'string', maxLength: 300 } },
  },
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      vmid: { type: 'integer', minimum: minVmid, maximum: maxVmid, description: 'Id of the guest that runs the service.' },
      port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port of the HTTP service inside the guest.' },
      ...serviceOptionProperties,
      ...serviceProtocolProperties,
    },
  },
} as const;

const fqdnParamsSchema = {
  params: {
    type: 'object',
    required: ['fqdn'],
    properties: { fqdn: { type: 'string', maxLength: 300 } },
  },
} as const;

const deleteServiceSchema = {
  ...fqdnParamsSchema,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      force: {
        type: 'boolean',
        description: 'Remove the service even when a step of its removal fails (for example its Cloudflare zone is gone); what could not be removed is logged and left in place.',
      },
    },
  },
} as const;

function parseFqdn(input: string): string {
  const result = normaliseHostname(input);
  if (!result.ok) throw invalidParameter('fqdn', result.reason);
  return result.name;
}

export function registerServiceRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/services', async () => {
    const state = context.state.snapshot();
    const certificates = certificatesById(state.certificates);
    const live = routesByHostname(await liveStatus(context));
    return { data: state.services.map((service) => serviceView(service, certificates, live)) };
  });

  app.get<{ Params: { fqdn: string } }>('/services/:fqdn', { schema: fqdnParamsSchema }, async (request) => {
    const fqdn = parseFqdn(request.params.fqdn);
    const state = context.state.snapshot();
    const service = state.services.find((item) => item.fqdn === fqdn);
    if (service === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist; list the services with GET /services`);
    return { data: serviceView(service, certificatesById(state.certificates), routesByHostname(await liveStatus(context))) };
  });

  app.put<{ Params: { fqdn: string }; Body: UpdateServiceBody }>('/services/:fqdn', { schema: updateServiceSchema }, async (request) => {
    const fqdn = parseFqdn(request.params.fqdn);
    const existing = context.state.snapshot().services.find((item) => item.fqdn === fqdn);
    if (existing === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist; list the services with GET /services`);
    if (existing.deleting) throw new AppError('SERVICE_EXISTS', `Service ${fqdn} is being deleted; create it again when it is gone`);
    // Password hashing runs outside the store update, which must stay synchronous.
    const changed = structuredClone(existing);
    await applyServiceOptions(changed, request.body);
    applyServiceProtocol(changed, request.body, false);
    if (request.body.vmid !== undefined) changed.vmid = request.body.vmid;
    if (request.body.port !== undefined) changed.port = request.body.port;

    const updated = await context.state.update((state) => {
      const service = state.services.find((item) => item.fqdn === fqdn);
      if (service === undefined || service.deleting) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} was deleted meanwhile`);
      service.vmid = changed.vmid;
      service.port = changed.port;
      service.options = changed.options;
      service.pin = changed.pin;
      service.extraTargets = changed.extraTargets;
      checkExternalPort(state, changed, reservedPortsOf(context));
      service.externalPort = changed.externalPort;
      service.tls = changed.tls;
      service.srv = changed.srv;
      service.retry = { failures: 0, nextAttemptAt: null, lastError: null };
      return service;
    });
    context.logger.info({ service: fqdn, fields: Object.keys(request.body) }, 'service updated');
    context.enqueue(fqdn);
    return { data: serviceView(updated, certificatesById(context.state.snapshot().certificates)) };
  });

  app.post<{ Body: CreateServiceBody }>('/services', { schema: createServiceSchema }, async (request) => {
    const body = request.body;
    const domainName = parseDomainName('domain', body.domain);
    const subdomain = parseSubdomain('subdomain', body.subdomain);
    const joined = normaliseHostname(`${subdomain}.${domainName}`);
    if (!joined.ok) throw invalidParameter('subdomain', `${subdomain}.${domainName} is not a valid name: ${joined.reason}`);
    const fqdn = joined.name;
    const draft: StoredService = {
      fqdn,
      subdomain,
      domain: domainName,
      vmid: body.vmid,
      port: body.port,
      createdAt: new Date().toISOString(),
      deleting: false,
      conditions: [],
      observed: { target: null },
      retry: { failures: 0, nextAttemptAt: null, lastError: null },
    };
    await applyServiceOptions(draft, body);
    applyServiceProtocol(draft, body, true);

    const created = await context.state.update((state) => {
      if (!state.domains.some((item) => item.name === domainName)) {
        throw invalidParameter('domain', `domain ${domainName} is not registered; register it with POST /domains first`);
      }
      const existing = state.services.find((item) => item.fqdn === fqdn);
      if (existing !== undefined) {
        const detail = existing.deleting ? 'is being deleted; try again when it is gone' : `already exposes container ${existing.vmid} port ${existing.port}`;
        throw new AppError('SERVICE_EXISTS', `Service ${fqdn} ${detail}`);
      }
      checkExternalPort(state, draft, reservedPortsOf(context));
      const service = structuredClone(draft);
      state.services.push(service);
      return service;
    });
    context.logger.info({ service: fqdn, vmid: created.vmid, port: created.port }, 'service created');
    context.enqueue(fqdn);
    return { data: serviceView(created, new Map()) };
  });

  app.delete<{ Params: { fqdn: string }; Querystring: { force?: boolean } }>('/services/:fqdn', { schema: deleteServiceSchema }, async (request) => {
    const fqdn = parseFqdn(request.params.fqdn);
    const force = request.query.force === true;
    const marked = await context.state.update((state) => {
      const service = state.services.find((item) => item.fqdn === fqdn);
      if (service === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist`);
      service.deleting = true;
      if (force) service.forceDelete = true;
      service.retry = { failures: 0, nextAttemptAt: null, lastError: null };
      return service;
    });
    context.logger.info({ service: fqdn, force }, 'service deletion requested');
    context.enqueue(fqdn);
    return { data: serviceView(marked, certificatesById(context.state.snapshot().certificates)) };
  });
}
