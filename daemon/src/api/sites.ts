import type { FastifyInstance } from 'fastify';
import { parseNodeNames, parseSiteAddresses, parseSiteName } from '../domains/sites.js';
import { AppError, invalidParameter } from '../errors.js';
import type { StateDocument, StoredSite } from '../store/model.js';
import type { ApiContext } from './context.js';

/** A site as the API returns it. */
interface SiteView {
  site: string;
  nodes: string[];
  addresses: string[];
  default: boolean;
  'allow-private': boolean;
  /** Registered domains that publish on this site. */
  domains: string[];
  'created-at': string;
}

interface SiteFields {
  nodes?: string[];
  addresses?: string[];
  default?: boolean;
  'allow-private'?: boolean;
}

interface CreateSiteBody extends SiteFields {
  site: string;
  addresses: string[];
}

const siteFieldProperties = {
  nodes: {
    type: 'array',
    maxItems: 64,
    items: { type: 'string', maxLength: 63, description: 'A PVE node name.' },
    description: 'PVE nodes that run the ingress proxy of this site.',
  },
  addresses: {
    type: 'array',
    minItems: 1,
    maxItems: 16,
    items: { type: 'string', maxLength: 45, description: 'An IPv4 or IPv6 address.' },
    description: "Public IPv4 and/or IPv6 addresses that the DNS records of this site's services point at.",
  },
  default: { type: 'boolean', description: 'Make this the default site, used by domains that name no site; the previous default loses the flag.' },
  'allow-private': { type: 'boolean', description: 'Accept loopback and private addresses, for labs that are not reachable from the internet.' },
} as const;

const siteParams = {
  type: 'object',
  additionalProperties: false,
  required: ['site'],
  properties: { site: { type: 'string', maxLength: 63, description: 'Name of the site.' } },
} as const;

const createSiteSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['site', 'addresses'],
    properties: { site: { type: 'string', maxLength: 63, description: 'Name of the new site: a letter, then letters, digits or hyphens.' }, ...siteFieldProperties },
  },
} as const;

const updateSiteSchema = {
  params: siteParams,
  body: { type: 'object', additionalProperties: false, properties: siteFieldProperties },
} as const;

function domainsOn(state: StateDocument, site: StoredSite): string[] {
  return state.domains.filter((domain) => (domain.site === undefined ? site.default : domain.site === site.name)).map((domain) => domain.name);
}

function siteView(site: StoredSite, state: StateDocument): SiteView {
  return {
    site: site.name,
    nodes: [...site.nodes],
    addresses: [...site.addresses],
    default: site.default,
    'allow-private': site.allowPrivate,
    domains: domainsOn(state, site),
    'created-at': site.createdAt,
  };
}

function findSite(state: StateDocument, name: string): StoredSite {
  const site = (state.sites ?? []).find((item) => item.name === name);
  if (site === undefined) throw new AppError('DOMAIN_NOT_FOUND', `Site ${name} does not exist; list the sites with GET /sites`);
  return site;
}

/** Queues every service whose domain publishes on `siteName`, so that changed addresses reach DNS. */
function enqueueServicesOn(context: ApiContext, siteName: string): void {
  const state = context.state.snapshot();
  const site = (state.sites ?? []).find((item) => item.name === siteName);
  if (site === undefined) return;
  const domains = new Set(domainsOn(state, site));
  for (const service of state.services) if (domains.has(service.domain)) context.enqueue(service.fqdn);
}

export function registerSiteRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/sites', () => {
    const state = context.state.snapshot();
    return { data: (state.sites ?? []).map((site) => siteView(site, state)) };
  });

  app.get<{ Params: { site: string } }>('/sites/:site', { schema: { params: siteParams } }, (request) => {
    const state = context.state.snapshot();
    return { data: siteView(findSite(state, parseSiteName('site', request.params.site)), state) };
  });

  app.post<{ Body: CreateSiteBody }>('/sites', { schema: createSiteSchema }, async (request) => {
    const body = request.body;
    const name = parseSiteName('site', body.site);
    const allowPrivate = body['allow-private'] === true;
    const addresses = parseSiteAddresses('addresses', body.addresses, allowPrivate);
    const nodes = parseNodeNames('nodes', body.nodes ?? []);
    const created = await context.state.update((state) => {
      const sites = (state.sites ??= []);
      if (sites.some((item) => item.name === name)) throw new AppError('DOMAIN_EXISTS', `Site ${name} already exists; change it with PUT /sites/${name}`);
      // The first site becomes the default whatever the request sets, so that exactly one site is the default.
      const makeDefault = body.default === true || sites.length === 0;
      if (makeDefault) for (const item of sites) item.default = false;
      const site: StoredSite = { name, nodes, addresses, default: makeDefault, allowPrivate, createdAt: new Date().toISOString() };
      sites.push(site);
      return site;
    });
    context.logger.info({ site: name, addresses }, 'site created');
    return { data: siteView(created, context.state.snapshot()) };
  });

  app.put<{ Params: { site: string }; Body: SiteFields }>('/sites/:site', { schema: updateSiteSchema }, async (request) => {
    const name = parseSiteName('site', request.params.site);
    const body = request.body;
    const current = findSite(context.state.snapshot(), name);
    const allowPrivate = body['allow-private'] ?? current.allowPrivate;
    // Turning allow-private off re-checks the stored addresses too.
    const addresses = parseSiteAddresses('addresses', body.addresses ?? current.addresses, allowPrivate);
    const nodes = body.nodes === undefined ? current.nodes : parseNodeNames('nodes', body.nodes);
    if (body.default === false && current.default) {
      throw invalidParameter('default', `site ${name} is the default site; make another site the default instead (PUT /sites/{other} with default=1)`);
    }
    const updated = await context.state.update((state) => {
      const site = findSite(state, name);
      if (body.default === true) for (const item of state.sites ?? []) item.default = item.name === name;
      Object.assign(site, { addresses, nodes, allowPrivate });
      return site;
    });
    enqueueServicesOn(context, name);
    context.logger.info({ site: name, addresses }, 'site updated');
    return { data: siteView(updated, context.state.snapshot()) };
  });

  app.delete<{ Params: { site: string } }>('/sites/:site', { schema: { params: siteParams } }, async (request) => {
    const name = parseSiteName('site', request.params.site);
    await context.state.update((state) => {
      const site = findSite(state, name);
      const domains = domainsOn(state, site);
      if (domains.length > 0) throw new AppError('DOMAIN_IN_USE', `Site ${name} is used by the domains ${domains.join(', ')}; move them to another site with PUT /domains/{domain} first`);
      if (site.default) throw new AppError('DOMAIN_IN_USE', `Site ${name} is the default site; make another site the default first`);
      state.sites = (state.sites ?? []).filter((item) => item.name !== name);
    });
    context.logger.info({ site: name }, 'site deleted');
    return { data: null };
  });
}
