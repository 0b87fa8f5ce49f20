import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { ApiContext } from './context.js';
import { parseCloudflareToken, parseDirectoryUrl, parseDomainName, parseEmail } from './validation.js';
import { defaultKeyType, keyTypes } from '../acme/key-types.js';
import type { CertificateMode, KeyType, StoredDomain, StoredService } from '../store/model.js';
import { domainView, type DomainView } from './views.js';

interface CreateDomainBody {
  domain: string;
  'acme-directory': string;
  'acme-email': string;
  'cloudflare-token': string;
  'certificate-mode'?: CertificateMode;
  'key-type'?: KeyType;
}

/** The domain view with its certificate settings. */
function domainWithCertificates(domain: StoredDomain, services: StoredService[]): DomainView & { 'certificate-mode': CertificateMode; 'key-type': KeyType } {
  return { ...domainView(domain, services), 'certificate-mode': domain.certificateMode ?? 'per-service', 'key-type': domain.keyType ?? defaultKeyType };
}

const createDomainSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['domain', 'acme-directory', 'acme-email', 'cloudflare-token'],
    properties: {
      domain: { type: 'string', maxLength: 300, description: 'The registered domain (Cloudflare zone), e.g. example.com.' },
      'acme-directory': { type: 'string', maxLength: 2000, description: 'The https URL of the ACME directory of the CA.' },
      'acme-email': { type: 'string', maxLength: 320, description: 'Contact address of the ACME account.' },
      'cloudflare-token': { type: 'string', maxLength: 400, description: 'Cloudflare API token with Zone:Zone:Read and Zone:DNS:Edit on the zone.' },
      'certificate-mode': {
        type: 'string',
        enum: ['per-service', 'wildcard'],
        description: 'per-service: one certificate per service (default); wildcard: one certificate for the domain and *.domain, shared by its services.',
      },
      'key-type': { type: 'string', enum: [...keyTypes], description: 'Key of new certificates; ecdsa-p256 by default.' },
    },
  },
} as const;

const domainParamsSchema = {
  params: {
    type: 'object',
    required: ['domain'],
    properties: { domain: { type: 'string', maxLength: 300 } },
  },
} as const;

export function registerDomainRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/domains', () => {
    const state = context.state.snapshot();
    return { data: state.domains.map((domain) => domainWithCertificates(domain, state.services)) };
  });

  app.get<{ Params: { domain: string } }>('/domains/:domain', { schema: domainParamsSchema }, (request) => {
    const name = parseDomainName('domain', request.params.domain);
    const state = context.state.snapshot();
    const domain = state.domains.find((item) => item.name === name);
    if (domain === undefined) throw new AppError('DOMAIN_NOT_FOUND', `Domain ${name} is not registered; list the registered domains with GET /domains`);
    return { data: domainWithCertificates(domain, state.services) };
  });

  app.post<{ Body: CreateDomainBody }>('/domains', { schema: createDomainSchema }, async (request) => {
    const body = request.body;
    const name = parseDomainName('domain', body.domain);
    const acmeDirectory = parseDirectoryUrl('acme-directory', body['acme-directory']);
    const acmeEmail = parseEmail('acme-email', body['acme-email']);
    const token = parseCloudflareToken('cloudflare-token', body['cloudflare-token']);
    if (context.state.snapshot().domains.some((item) => item.name === name)) {
      throw new AppError('DOMAIN_EXISTS', `Domain ${name} is already registered; change it with PUT /domains/${name} or delete it first`);
    }

    // The secret is written before the domain, so a stored domain always has its credentials.
    await context.secrets.write('cloudflare', name, JSON.stringify({ kind: 'token', token }));
    const created = await context.state.update((state) => {
      if (state.domains.some((item) => item.name === name)) {
        throw new AppError('DOMAIN_EXISTS', `Domain ${name} is already registered`);
      }
      const domain: StoredDomain = { name, acmeDirectory, acmeEmail, createdAt: new Date().toISOString() };
      if (body['certificate-mode'] !== undefined) domain.certificateMode = body['certificate-mode'];
      if (body['key-type'] !== undefined) domain.keyType = body['key-type'];
      state.domains.push(domain);
      return domain;
    });
    context.logger.info({ domain: name }, 'domain registered');
    return { data: domainWithCertificates(created, []) };
  });

  app.delete<{ Params: { domain: string } }>('/domains/:domain', { schema: domainParamsSchema }, async (request) => {
    const name = parseDomainName('domain', request.params.domain);
    await context.state.update((state) => {
      if (!state.domains.some((item) => item.name === name)) {
        throw new AppError('DOMAIN_NOT_FOUND', `Domain ${name} is not registered`);
      }
      const services = state.services.filter((item) => item.domain === name).map((item) => item.fqdn);
      if (services.length > 0) {
        throw new AppError('DOMAIN_IN_USE', `Domain ${name} still has services (${services.join(', ')}); delete them first`);
      }
      state.domains = state.domains.filter((item) => item.name !== name);
    });
    await context.secrets.remove('cloudflare', name);
    context.logger.info({ domain: name }, 'domain deleted');
    return { data: null };
  });
}
