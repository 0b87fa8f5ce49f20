import type { FastifyInstance } from 'fastify';
import { AppError, invalidParameter } from '../errors.js';
import { normaliseHostname } from '../names.js';
import type { StoredService } from '../store/model.js';
import type { ApiContext } from './context.js';
import { parseDomainName, parseSubdomain } from './validation.js';
import { serviceView } from './views.js';

interface CreateServiceBody {
  subdomain: string;
  domain: string;
  vmid: number;
  port: number;
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

function parseFqdn(input: string): string {
  const result = normaliseHostname(input);
  if (!result.ok) throw invalidParameter('fqdn', result.reason);
  return result.name;
}

export function registerServiceRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/services', () => {
    const state = context.state.snapshot();
    return { data: state.services.map((service) => serviceView(service, state.certificates)) };
  });

  app.get<{ Params: { fqdn: string } }>('/services/:fqdn', { schema: fqdnParamsSchema }, (request) => {
    const fqdn = parseFqdn(request.params.fqdn);
    const state = context.state.snapshot();
    const service = state.services.find((item) => item.fqdn === fqdn);
    if (service === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist; list the services with GET /services`);
    return { data: serviceView(service, state.certificates) };
  });

  app.post<{ Body: CreateServiceBody }>('/services', { schema: createServiceSchema }, async (request) => {
    const body = request.body;
    const domainName = parseDomainName('domain', body.domain);
    const subdomain = parseSubdomain('subdomain', body.subdomain);
    const joined = normaliseHostname(`${subdomain}.${domainName}`);
    if (!joined.ok) throw invalidParameter('subdomain', `${subdomain}.${domainName} is not a valid name: ${joined.reason}`);
    const fqdn = joined.name;

    const created = await context.state.update((state) => {
      if (!state.domains.some((item) => item.name === domainName)) {
        throw invalidParameter('domain', `domain ${domainName} is not registered; register it with POST /domains first`);
      }
      const existing = state.services.find((item) => item.fqdn === fqdn);
      if (existing !== undefined) {
        const detail = existing.deleting ? 'is being deleted; try again when it is gone' : `already exposes container ${existing.vmid} port ${existing.port}`;
        throw new AppError('SERVICE_EXISTS', `Service ${fqdn} ${detail}`);
      }
      const service: StoredService = {
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
      state.services.push(service);
      return service;
    });
    context.logger.info({ service: fqdn, vmid: created.vmid, port: created.port }, 'service created');
    context.enqueue(fqdn);
    return { data: serviceView(created, []) };
  });

  app.delete<{ Params: { fqdn: string } }>('/services/:fqdn', { schema: fqdnParamsSchema }, async (request) => {
    const fqdn = parseFqdn(request.params.fqdn);
    const marked = await context.state.update((state) => {
      const service = state.services.find((item) => item.fqdn === fqdn);
      if (service === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist`);
      service.deleting = true;
      service.retry = { failures: 0, nextAttemptAt: null, lastError: null };
      return structuredClone(service);
    });
    context.logger.info({ service: fqdn }, 'service deletion requested');
    context.enqueue(fqdn);
    return { data: serviceView(marked, context.state.snapshot().certificates) };
  });
}
