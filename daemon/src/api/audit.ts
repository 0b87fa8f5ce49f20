import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../auth/audit-log.js';

const auditQuerySchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 500, description: 'Number of newest entries to return.' },
    },
  },
} as const;

/** Registers `GET /audit`: the newest change requests, oldest first. */
export function registerAuditRoutes(app: FastifyInstance, audit: AuditLog): void {
  app.get<{ Querystring: { limit: number } }>('/audit', { schema: auditQuerySchema }, async (request) => ({ data: await audit.read(request.query.limit) }));
}
