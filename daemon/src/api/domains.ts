import type { FastifyInstance } from 'fastify';
import { keyTypes } from '../acme/key-types.js';
import type { CloudflareCredentials } from '../dns/cloudflare.js';
import { eabSecretName } from '../domains/acme-account.js';
import { markDomainForDeletion } from '../domains/deletion.js';
import { directoryPresetIds } from '../domains/directories.js';
import {
  checkDistinctIssuers,
  credentialSecret,
  hasCredentialFields,
  parseAuthServerField,
  parseCredentials,
  parseIssuer,
  storedFallback,
  storeEabKeys,
  type CredentialFields,
  type IssuerFields,
  type ParsedIssuer,
} from '../domains/input.js';
import { overlappingDomains, parseRegisteredDomain } from '../domains/names.js';
import { domainView } from '../domains/view.js';
import { parseWebhookUrl } from '../notify/webhook-url.js';
import { AppError, invalidParameter } from '../errors.js';
import type { CertificateMode, DomainVerification, KeyType, StateDocument, StoredDomain } from '../store/model.js';
import type { ApiContext } from './context.js';

interface DomainFields extends CredentialFields {
  site?: string;
  'acme-directory'?: string;
  'acme-email'?: string;
  'eab-key-id'?: string;
  'eab-hmac-key'?: string;
  'acme-profile'?: string;
  'certificate-mode'?: CertificateMode;
  'key-type'?: KeyType;
  'fallback-issuers'?: IssuerFields[];
  'notify-webhook'?: string;
  'auth-server'?: string;
  'skip-verify'?: boolean;
}

interface CreateDomainBody extends DomainFields {
  domain: string;
  'acme-directory': string;
  'acme-email': string;
}

const eabKeyIdSchema = { type: 'string', maxLength: 200, description: 'External Account Binding key id from the CA account page; required by ZeroSSL, optional otherwise.' } as const;
const eabHmacSchema = {
  type: 'string',
  maxLength: 400,
  format: 'password',
  description: 'External Account Binding HMAC key (base64url or base64), write-only; may be omitted on update to keep the stored key of the same key id.',
} as const;

const fallbackIssuerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['directory', 'email'],
  properties: {
    directory: { type: 'string', maxLength: 2000, description: `A directory preset (${directoryPresetIds.join(', ')}) or the https URL of an RFC 8555 ACME directory.` },
    email: { type: 'string', maxLength: 320, description: 'Contact address of the ACME account at this CA.' },
    'eab-key-id': eabKeyIdSchema,
    'eab-hmac-key': eabHmacSchema,
  },
} as const;

/** Properties that create and update share; every one is optional on update. */
const domainFieldProperties = {
  site: { type: 'string', maxLength: 63, description: "Name of the site whose public addresses the domain's service records point at; the default site when omitted." },
  'acme-directory': {
    type: 'string',
    maxLength: 2000,
    description: `ACME directory: a preset (${directoryPresetIds.join(', ')}) or the https URL of any RFC 8555 directory (Custom).`,
  },
  'acme-email': { type: 'string', maxLength: 320, description: 'Contact address of the ACME account.' },
  'eab-key-id': eabKeyIdSchema,
  'eab-hmac-key': eabHmacSchema,
  'acme-profile': { type: 'string', maxLength: 64, description: "ACME profile for new orders (e.g. tlsserver, shortlived), one the directory's meta.profiles offers; an empty string uses the CA's default." },
  'certificate-mode': {
    type: 'string',
    enum: ['per-service', 'wildcard'],
    description: 'per-service: one certificate per service (default); wildcard: one certificate for the domain and *.domain, shared by its services.',
  },
  'key-type': { type: 'string', enum: [...keyTypes], description: 'Key of new certificates; ecdsa-p256 by default.' },
  'fallback-issuers': { type: 'array', maxItems: 5, items: fallbackIssuerSchema, description: 'CAs tried in this order after repeated failures at the ACME directory, each with its own account.' },
  'cloudflare-token': { type: 'string', maxLength: 400, format: 'password', description: 'Cloudflare API token with Zone:Zone:Read and Zone:DNS:Edit on the zone (recommended), write-only.' },
  'cloudflare-global-key': { type: 'string', maxLength: 400, format: 'password', description: 'Legacy Cloudflare Global API Key, write-only; needs cloudflare-email.' },
  'cloudflare-email': { type: 'string', maxLength: 320, description: 'E-mail address of the Cloudflare account, used only with cloudflare-global-key.' },
  'cloudflare-zone-token': { type: 'string', maxLength: 400, format: 'password', description: 'Cloudflare API token with Zone:Zone:Read, used for zone lookups when the permissions are split over two tokens, write-only; needs cloudflare-dns-token.' },
  'cloudflare-dns-token': { type: 'string', maxLength: 400, format: 'password', description: 'Cloudflare API token with Zone:DNS:Edit, used for record changes when the permissions are split over two tokens, write-only; needs cloudflare-zone-token.' },
  'notify-webhook': {
    type: 'string',
    maxLength: 2000,
    description: "https URL that receives the domain's notifications as JSON POSTs (event, object, node, time, message); an empty string removes it.",
  },
  'auth-server': {
    type: 'string',
    maxLength: 2000,
    description: 'Base URL (http or https, scheme, host and port only) of the oauth2-proxy-style server that services with auth sign in through; an empty string removes it.',
  },
  'skip-verify': { type: 'boolean', description: 'Save even when a blocking check fails; the domain is then marked not ready.' },
} as const;

const createDomainSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['domain', 'acme-directory', 'acme-email'],
    properties: {
      domain: { type: 'string', maxLength: 300, description: 'The registered domain (Cloudflare zone), e.g. example.com; Unicode names are stored in punycode.' },
      ...domainFieldProperties,
    },
  },
} as const;

const domainParams = {
  type: 'object',
  additionalProperties: false,
  required: ['domain'],
  properties: { domain: { type: 'string', maxLength: 300, description: 'The registered domain, e.g. example.com.' } },
} as const;

const domainParamsSchema = { params: domainParams } as const;

const updateDomainSchema = {
  params: domainParams,
  body: { type: 'object', additionalProperties: false, properties: domainFieldProperties },
} as const;

// No body schema: the request carries no fields, and a schema would reject a request without a body.
const verifyDomainSchema = { params: domainParams } as const;

const deleteDomainSchema = {
  params: domainParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      'remove-services': {
        type: 'boolean',
        description: "Also delete the domain's services; the domain is removed once the last of them is gone. Without it, a domain with services is not deleted.",
      },
    },
  },
} as const;

function findDomain(state: StateDocument, name: string): StoredDomain {
  const domain = state.domains.find((item) => item.name === name);
  if (domain === undefined) throw new AppError('DOMAIN_NOT_FOUND', `Domain ${name} is not registered; list the registered domains with GET /domains`);
  return domain;
}

/** Resolves the `site` field to a stored site name, or the default site when omitted. */
function resolveSite(state: StateDocument, requested: string | undefined): string | undefined {
  const sites = state.sites ?? [];
  if (requested === undefined) return sites.find((site) => site.default)?.name;
  const name = requested.trim().toLowerCase();
  if (!sites.some((site) => site.name === name)) {
    const known = sites.map((site) => site.name).join(', ') || 'none';
    throw invalidParameter('site', `no site is named "${requested}" (sites: ${known}); create it with POST /sites first`);
  }
  return name;
}

/** Builds the 400 of a save whose blocking checks failed, with one entry per check. */
function verificationFailed(name: string, verification: DomainVerification): AppError {
  const parameters: Record<string, string> = {};
  for (const item of verification.checks) {
    const key = parameters[item.check] === undefined ? item.check : `${item.check}-${Object.keys(parameters).length}`;
    parameters[key] = `${item.status}: ${item.message}`;
  }
  const first = verification.checks.find((item) => item.status === 'fail') ?? verification.checks.find((item) => item.status === 'skip');
  return new AppError('INVALID_PARAMETER', `Verification of ${name} failed: ${first?.message ?? 'a blocking check did not pass'}; fix it and save again, or set skip-verify to save the domain as not ready`, {
    parameters,
    retryable: false,
  });
}

/** Rejects a name below a registered domain unless the checks found it to be its own Cloudflare zone. */
function checkOverlap(name: string, state: StateDocument, verification: DomainVerification | null): void {
  const { parents } = overlappingDomains(name, state.domains.map((item) => item.name));
  if (parents.length === 0) return;
  if (verification?.zone === name) return;
  const reason = verification === null ? 'this API instance cannot check Cloudflare' : `its Cloudflare zone is ${verification.zone ?? 'not found'}`;
  throw invalidParameter('domain', `${name} lies below the registered domain ${parents.join(', ')} and is not its own Cloudflare zone (${reason}); add its services under ${parents[0] ?? 'that domain'}, or make ${name} a zone of its own in Cloudflare`);
}

async function storedCredentials(context: ApiContext, name: string): Promise<CloudflareCredentials> {
  const text = await context.secrets.require('cloudflare', name);
  try {
    return JSON.parse(text) as CloudflareCredentials;
  } catch (err) {
    throw new AppError('STORE_FAILED', `The Cloudflare credentials of ${name} are unreadable; set them again with PUT /domains/${name}`, { cause: err });
  }
}

async function storedIssuers(context: ApiContext, domain: StoredDomain): Promise<ParsedIssuer[]> {
  const entries = [{ directory: domain.acmeDirectory, email: domain.acmeEmail, eabKeyId: domain.eabKeyId }, ...(domain.fallbackIssuers ?? [])];
  const issuers: ParsedIssuer[] = [];
  for (const entry of entries) {
    let eab = null;
    if (entry.eabKeyId !== undefined) {
      const hmacKey = await context.secrets.read('acme-account', eabSecretName(entry.directory, entry.eabKeyId));
      if (hmacKey !== null) eab = { keyId: entry.eabKeyId, hmacKey };
    }
    issuers.push({ directory: entry.directory, email: entry.email, eab });
  }
  return issuers;
}

/** Runs the verifier when the API has one; returns null otherwise. */
async function runVerification(context: ApiContext, name: string, credentials: CloudflareCredentials, issuers: ParsedIssuer[], profile: string | null): Promise<DomainVerification | null> {
  if (context.domainVerifier === undefined) return null;
  return context.domainVerifier.verify({ domain: name, credentials, issuers: issuers.map((issuer, index) => ({ ...issuer, profile: index === 0 ? profile : null })) });
}

function parseProfile(input: string | undefined): string | null {
  if (input === undefined || input.trim() === '') return null;
  const profile = input.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(profile)) throw invalidParameter('acme-profile', `"${input}" is not a profile name; use a name from the directory's meta.profiles, such as tlsserver`);
  return profile;
}

async function parseFallbacks(fields: IssuerFields[] | undefined, context: ApiContext): Promise<ParsedIssuer[] | undefined> {
  if (fields === undefined) return undefined;
  const parsed: ParsedIssuer[] = [];
  for (const [index, item] of fields.entries()) parsed.push(await parseIssuer(`fallback-issuers.${index}.`, item, context.secrets));
  return parsed;
}

/** Applies the stored form of the parsed settings to `domain`. */
function applySettings(domain: StoredDomain, primary: ParsedIssuer, fallbacks: ParsedIssuer[], profile: string | null, credentials: CloudflareCredentials | null): void {
  domain.acmeDirectory = primary.directory;
  domain.acmeEmail = primary.email;
  if (primary.eab === null) delete domain.eabKeyId;
  else domain.eabKeyId = primary.eab.keyId;
  if (profile === null) delete domain.acmeProfile;
  else domain.acmeProfile = profile;
  if (fallbacks.length === 0) delete domain.fallbackIssuers;
  else domain.fallbackIssuers = fallbacks.map(storedFallback);
  if (credentials !== null) {
    domain.cloudflareAuth = credentials.kind === 'token' ? 'api-token' : credentials.kind;
    domain.cloudflareSecretHint = credentialSecret(credentials).slice(-4);
    if (credentials.kind === 'split') domain.cloudflareDnsSecretHint = credentials.dnsToken.slice(-4);
    else delete domain.cloudflareDnsSecretHint;
  }
}

export function registerDomainRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/domains', () => {
    const state = context.state.snapshot();
    return { data: state.domains.map((domain) => domainView(domain, state)) };
  });

  app.get<{ Params: { domain: string } }>('/domains/:domain', { schema: domainParamsSchema }, (request) => {
    const { ascii } = parseRegisteredDomain('domain', request.params.domain);
    const state = context.state.snapshot();
    return { data: domainView(findDomain(state, ascii), state) };
  });

  app.post<{ Body: CreateDomainBody }>('/domains', { schema: createDomainSchema }, async (request) => {
    const body = request.body;
    const { ascii: name } = parseRegisteredDomain('domain', body.domain);
    const credentials = parseCredentials(body);
    const primary = await parseIssuer('acme-', { directory: body['acme-directory'], email: body['acme-email'], 'eab-key-id': body['eab-key-id'], 'eab-hmac-key': body['eab-hmac-key'] }, context.secrets);
    const fallbacks = (await parseFallbacks(body['fallback-issuers'], context)) ?? [];
    checkDistinctIssuers([primary, ...fallbacks]);
    const profile = parseProfile(body['acme-profile']);
    const webhook = body['notify-webhook'] === undefined ? null : parseWebhookUrl(body['notify-webhook']);
    const authServer = parseAuthServerField(body['auth-server']) ?? null;
    const before = context.state.snapshot();
    if (before.domains.some((item) => item.name === name)) {
      throw new AppError('DOMAIN_EXISTS', `Domain ${name} is already registered; change it with PUT /domains/${name} or delete it first`);
    }
    const site = resolveSite(before, body.site);

    const verification = await runVerification(context, name, credentials, [primary, ...fallbacks], profile);
    checkOverlap(name, context.state.snapshot(), verification);
    if (verification !== null && !verification.ready && body['skip-verify'] !== true) throw verificationFailed(name, verification);

    // Secrets are written before the domain, so a stored domain always has its credentials; a
    // failed state update removes the Cloudflare secret again.
    await context.secrets.write('cloudflare', name, JSON.stringify(credentials));
    await storeEabKeys([primary, ...fallbacks], context.secrets);
    let created: StoredDomain;
    try {
      created = await context.state.update((state) => {
        if (state.domains.some((item) => item.name === name)) throw new AppError('DOMAIN_EXISTS', `Domain ${name} is already registered`);
        const domain: StoredDomain = { name, acmeDirectory: primary.directory, acmeEmail: primary.email, createdAt: new Date().toISOString() };
        applySettings(domain, primary, fallbacks, profile, credentials);
        if (site !== undefined) domain.site = site;
        if (body['certificate-mode'] !== undefined) domain.certificateMode = body['certificate-mode'];
        if (body['key-type'] !== undefined) domain.keyType = body['key-type'];
        if (webhook !== null) domain.notifyWebhook = webhook;
        if (authServer !== null) domain.authServer = authServer;
        if (verification !== null) domain.verification = verification;
        state.domains.push(domain);
        return domain;
      });
    } catch (err) {
      await context.secrets.remove('cloudflare', name);
      throw err;
    }
    context.logger.info({ domain: name, ready: verification?.ready ?? null }, 'domain registered');
    return { data: domainView(created, context.state.snapshot()) };
  });

  app.put<{ Params: { domain: string }; Body: DomainFields }>('/domains/:domain', { schema: updateDomainSchema }, async (request) => {
    const { ascii: name } = parseRegisteredDomain('domain', request.params.domain);
    const body = request.body;
    const current = findDomain(context.state.snapshot(), name);
    const newCredentials = hasCredentialFields(body) ? parseCredentials(body) : null;
    const stored = await storedIssuers(context, current);
    const primaryFields: IssuerFields = { directory: body['acme-directory'] ?? current.acmeDirectory, email: body['acme-email'] ?? current.acmeEmail };
    const keyId = body['eab-key-id'] ?? current.eabKeyId;
    // An EAB key id that was stored for another directory does not carry over to a new one.
    const directoryChangedAlone = body['acme-directory'] !== undefined && body['eab-key-id'] === undefined && body['eab-hmac-key'] === undefined;
    if (keyId !== undefined && !directoryChangedAlone) primaryFields['eab-key-id'] = keyId;
    if (body['eab-hmac-key'] !== undefined) primaryFields['eab-hmac-key'] = body['eab-hmac-key'];
    const primary = await parseIssuer('acme-', primaryFields, context.secrets);
    const fallbacks = (await parseFallbacks(body['fallback-issuers'], context)) ?? stored.slice(1);
    checkDistinctIssuers([primary, ...fallbacks]);
    const profile = body['acme-profile'] === undefined ? (current.acmeProfile ?? null) : parseProfile(body['acme-profile']);
    const site = body.site === undefined ? current.site : resolveSite(context.state.snapshot(), body.site);
    const webhook = body['notify-webhook'] === undefined ? undefined : parseWebhookUrl(body['notify-webhook']);
    const authServer = parseAuthServerField(body['auth-server']);

    const caChanged =
      primary.directory !== current.acmeDirectory ||
      primary.email !== current.acmeEmail ||
      primary.eab?.keyId !== current.eabKeyId ||
      body['eab-hmac-key'] !== undefined ||
      profile !== (current.acmeProfile ?? null) ||
      body['fallback-issuers'] !== undefined;
    let verification: DomainVerification | null = null;
    if (newCredentials !== null || caChanged) {
      const credentials = newCredentials ?? (await storedCredentials(context, name));
      verification = await runVerification(context, name, credentials, [primary, ...fallbacks], profile);
      if (verification !== null && !verification.ready && body['skip-verify'] !== true) throw verificationFailed(name, verification);
    }

    if (newCredentials !== null) await context.secrets.write('cloudflare', name, JSON.stringify(newCredentials));
    await storeEabKeys([primary, ...fallbacks], context.secrets);
    const updated = await context.state.update((state) => {
      const domain = findDomain(state, name);
      applySettings(domain, primary, fallbacks, profile, newCredentials);
      if (site === undefined) delete domain.site;
      else domain.site = site;
      if (body['certificate-mode'] !== undefined) domain.certificateMode = body['certificate-mode'];
      if (body['key-type'] !== undefined) domain.keyType = body['key-type'];
      if (webhook === null) delete domain.notifyWebhook;
      else if (webhook !== undefined) domain.notifyWebhook = webhook;
      if (authServer === null) delete domain.authServer;
      else if (authServer !== undefined) domain.authServer = authServer;
      if (verification !== null) domain.verification = verification;
      // The certificate manager's fingerprint includes this time, so a change restarts its retries.
      domain.updatedAt = new Date().toISOString();
      return domain;
    });
    // Services of the domain are queued so that a new site's addresses reach DNS.
    for (const service of context.state.snapshot().services) if (service.domain === name) context.enqueue(service.fqdn);
    context.logger.info({ domain: name, credentials_changed: newCredentials !== null, verified: verification !== null }, 'domain updated');
    return { data: domainView(updated, context.state.snapshot()) };
  });

  app.post<{ Params: { domain: string } }>('/domains/:domain/verify', { schema: verifyDomainSchema }, async (request) => {
    const { ascii: name } = parseRegisteredDomain('domain', request.params.domain);
    const domain = findDomain(context.state.snapshot(), name);
    if (context.domainVerifier === undefined) throw new AppError('INTERNAL', 'This API instance has no domain verifier; run the checks through pve-domainsd');
    const credentials = await storedCredentials(context, name);
    const verification = await runVerification(context, name, credentials, await storedIssuers(context, domain), domain.acmeProfile ?? null);
    if (verification === null) throw new AppError('INTERNAL', 'the domain verifier returned no result');
    await context.state.update((state) => {
      const stored = state.domains.find((item) => item.name === name);
      if (stored !== undefined) stored.verification = verification;
    });
    return { data: { domain: name, ready: verification.ready, zone: verification.zone, 'checked-at': verification.checkedAt, checks: verification.checks } };
  });

  app.delete<{ Params: { domain: string }; Querystring: { 'remove-services'?: boolean } }>('/domains/:domain', { schema: deleteDomainSchema }, async (request, reply) => {
    const { ascii: name } = parseRegisteredDomain('domain', request.params.domain);
    const removeServices = request.query['remove-services'] === true;
    const marked = await context.state.update((state) => {
      if (!state.domains.some((item) => item.name === name)) {
        throw new AppError('DOMAIN_NOT_FOUND', `Domain ${name} is not registered`);
      }
      const services = state.services.filter((item) => item.domain === name).map((item) => item.fqdn);
      if (services.length === 0) {
        state.domains = state.domains.filter((item) => item.name !== name);
        return [];
      }
      if (!removeServices) {
        throw new AppError('DOMAIN_IN_USE', `Domain ${name} still has services (${services.join(', ')}); delete them first, or delete the domain with remove-services=1 to delete them too`);
      }
      return markDomainForDeletion(state, name);
    });
    if (marked.length > 0) {
      for (const fqdn of marked) context.enqueue(fqdn);
      context.logger.info({ domain: name, services: marked }, 'domain deletion requested, removing its services first');
      void reply.code(202);
      return { data: { domain: name, deleting: true, services: marked, message: `The services ${marked.join(', ')} are being removed; domain ${name} is removed with the last of them` } };
    }
    await context.secrets.remove('cloudflare', name);
    context.logger.info({ domain: name }, 'domain deleted');
    return { data: null };
  });
}
