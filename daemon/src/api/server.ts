import { chmod } from 'node:fs/promises';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { ApiContext } from './context.js';
import { registerDomainRoutes } from './domains.js';
import { registerServiceRoutes } from './services.js';

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

/** Builds the API application; routes live under /api2/json as in PVE. */
export async function buildApi(context: ApiContext): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = context.logger.child({ subsystem: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    disableRequestLogging: true,
    bodyLimit: 1024 * 1024,
    // Unknown fields are rejected rather than silently dropped (fastify strips them by default);
    // form-style strings such as "101" are converted where the schema asks for a number.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
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

  await app.register(
    (api, _options, done) => {
      registerDomainRoutes(api, context);
      registerServiceRoutes(api, context);
      done();
    },
    { prefix: '/api2/json' },
  );
  return app;
}

/** Listens on the root-only unix socket the CLI uses. */
export async function listenOnSocket(app: FastifyInstance, socketPath: string): Promise<void> {
  await app.listen({ path: socketPath });
  await chmod(socketPath, 0o600);
}
