import { chmod } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { AccessError } from '../auth/errors.js';
import { convertFormValues } from './form-values.js';
import { AppError } from '../errors.js';
import { registerAccessControl, trustSocketConnections, type ApiSecurity } from './access-control.js';
import { registerAuditRoutes } from './audit.js';
import type { ApiContext } from './context.js';
import { registerCertificateRoutes } from './certificates.js';
import { registerDomainRoutes } from './domains.js';
import { registerIndexRoute } from './index-route.js';
import { registerOpenApi } from './openapi.js';
import { registerServiceRoutes } from './services.js';
import { registerServiceLogRoutes } from './service-log.js';
import { registerSiteRoutes } from './sites.js';
import { registerMetricsRoutes } from './metrics.js';
import { registerTaskRoutes } from './tasks.js';
import { registerDiagnoseRoutes } from './diagnose.js';
import { registerStatusRoutes } from './status.js';

/** Body of every error answer, as PVE's API formats it: `{data: null, message, errors?}`. */
interface ErrorBody {
  data: null;
  message: string;
  errors?: Record<string, string>;
}

function validationErrors(err: FastifyError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const item of err.validation ?? []) {
    const params = item.params;
    const missing = typeof params['missingProperty'] === 'string' ? params['missingProperty'] : null;
    const extra = typeof params['additionalProperty'] === 'string' ? params['additionalProperty'] : null;
    const path = item.instancePath.replace(/^\//, '').replaceAll('/', '.');
    if (missing !== null) errors[missing] = 'property is missing and it is not optional';
    else if (extra !== null) errors[extra] = 'property is not defined in schema and the schema does not allow additional properties';
    else errors[path === '' ? 'body' : path] = item.message ?? 'invalid value';
  }
  return errors;
}

const apiPrefix = '/api2/json';

/** Apps built with remote authentication; only these may be served on TCP. */
const authenticatedApps = new WeakSet<FastifyInstance>();

/**
 * Builds the API application; routes live under /api2/json as in PVE. Without `security.remote`
 * every request acts as root, so such an app may be served on the unix socket only.
 */
export async function buildApi(context: ApiContext, security: ApiSecurity = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = context.logger.child({ subsystem: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    disableRequestLogging: true,
    bodyLimit: 1024 * 1024,
    // Unknown fields are rejected rather than silently dropped (fastify strips them by default).
    // Form-style strings such as "101" are converted by convertFormValues, which is stricter than
    // Ajv's coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  });

  // PVE's web UI and pvesh-style clients send form-encoded bodies; repeated keys become lists.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, text, done) => {
    const body: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(text as string)) {
      const previous = body[key];
      body[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
    done(null, body);
  });

  app.addHook('preValidation', (request, _reply, done) => {
    const schema = request.routeOptions.schema as { body?: object; querystring?: object } | undefined;
    if (schema?.body !== undefined) request.body = convertFormValues(schema.body, request.body);
    if (schema?.querystring !== undefined) request.query = convertFormValues(schema.querystring, request.query);
    done();
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    let status = 500;
    const body: ErrorBody = { data: null, message: 'internal error; see the journal of pve-domainsd' };
    if (err instanceof AppError) {
      status = err.status;
      body.message = err.message;
      if (err.parameters !== undefined) body.errors = err.parameters;
    } else if (err.validation !== undefined) {
      status = 400;
      body.message = 'Parameter verification failed.';
      body.errors = validationErrors(err);
    } else if (err instanceof AccessError) {
      status = err.statusCode;
      body.message = err.message;
      // pveproxy sends the reason of a refusal as the HTTP reason phrase, too.
      reply.raw.statusMessage = err.message.replace(/[^\t\x20-\x7e]/g, '?');
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body.message = err.message;
    }
    if (status >= 500) request.log.error({ err, method: request.method, url: request.url }, 'request failed');
    else request.log.info({ method: request.method, url: request.url, status, message: body.message }, 'request rejected');
    void reply.status(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(501).send({ data: null, message: `Method '${request.method} ${request.url}' not implemented` } satisfies ErrorBody);
  });

  registerAccessControl(app, context, security, apiPrefix);
  registerOpenApi(app, apiPrefix);
  // Top-level collections, for the directory index.
  const collections = new Set<string>();
  app.addHook('onRoute', (route) => {
    const match = /^\/api2\/json\/([a-z-]+)/.exec(route.url);
    if (match?.[1] !== undefined) collections.add(match[1]);
  });

  await app.register(
    (api, _options, done) => {
      registerIndexRoute(api, () => [...collections].sort());
      registerDomainRoutes(api, context);
      registerServiceRoutes(api, context);
      registerServiceLogRoutes(api, context, security.audit);
      registerSiteRoutes(api, context);
      registerCertificateRoutes(api, context);
      registerMetricsRoutes(api, context);
      registerTaskRoutes(api, context);
      registerDiagnoseRoutes(api, context);
      registerStatusRoutes(api, context);
      if (security.audit !== undefined) registerAuditRoutes(api, security.audit);
      done();
    },
    { prefix: apiPrefix },
  );
  if (security.remote !== undefined) authenticatedApps.add(app);
  return app;
}

/**
 * Listens on the root-only unix socket the CLI uses; requests on it act as root without a ticket.
 * The daemon runs as root, and connecting needs write permission on the socket file, which is
 * root-owned with mode 0600. The umask keeps the file closed to others until the chmod.
 */
export async function listenOnSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  trustSocketConnections(app.server);
  const umask = process.umask(0o177);
  try {
    await app.listen({ path: socketPath });
  } finally {
    process.umask(umask);
  }
  await chmod(socketPath, 0o600);
}

export interface TcpListenerOptions {
  address: string;
  /** 0 picks a free port. */
  port: number;
  /** PEM certificate chain and private key of the HTTPS listener. */
  cert: string | Buffer;
  key: string | Buffer;
}

export interface TcpListener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the same routes over HTTPS on TCP for the PVE web UI and automation. The app must have
 * been built with `security.remote`, so that every request there needs a PVE ticket or API token.
 */
export async function listenOnTcp(app: FastifyInstance, options: TcpListenerOptions): Promise<TcpListener> {
  if (!authenticatedApps.has(app)) {
    throw new Error('refusing to serve the API on TCP without authentication; build the app with security.remote');
  }
  await app.ready();
  const server = createHttpsServer({ cert: options.cert, key: options.key }, (request, response) => app.routing(request, response));
  server.on('tlsClientError', (err) => app.log.debug({ err }, 'TLS handshake with an API client failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.address, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
