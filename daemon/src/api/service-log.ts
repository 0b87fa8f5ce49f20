import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../auth/audit-log.js';
import { AppError, invalidParameter } from '../errors.js';
import { normaliseHostname } from '../names.js';
import type { ApiContext } from './context.js';

/** One entry of a service's recent events, as the web UI's log view lists them. */
export interface ServiceEvent {
  /** ISO 8601 time of the event. */
  time: string;
  /** `audit` for a change request, `condition` for a step's last change, `retry` for the pending retry. */
  source: 'audit' | 'condition' | 'retry';
  level: 'info' | 'warning' | 'error';
  /** The step (`dns`, `certificate`, ...) or the audit action (`service.create`, ...). */
  subject: string;
  message: string;
  /** Who made the change; only on audit entries. */
  user?: string;
}

/** Audit entries read per request; the service's own are picked out of them. */
const auditWindow = 2000;

const logSchema = {
  params: {
    type: 'object',
    required: ['fqdn'],
    properties: { fqdn: { type: 'string', maxLength: 300 } },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Number of newest events to return.' },
    },
  },
} as const;

/** Event level of each condition status. */
const conditionLevels = { false: 'error', unknown: 'warning', true: 'info' } as const;

/**
 * Registers `GET /services/{fqdn}/log`: the service's recent events, newest first. They are
 * built from the audit log (who changed the service), the time each step last changed, and the
 * pending retry, because the daemon keeps no other history of a service.
 */
export function registerServiceLogRoutes(app: FastifyInstance, context: ApiContext, audit: AuditLog | undefined): void {
  app.get<{ Params: { fqdn: string }; Querystring: { limit: number } }>('/services/:fqdn/log', { schema: logSchema }, async (request) => {
    const parsed = normaliseHostname(request.params.fqdn);
    if (!parsed.ok) throw invalidParameter('fqdn', parsed.reason);
    const fqdn = parsed.name;
    const service = context.state.snapshot().services.find((item) => item.fqdn === fqdn);
    if (service === undefined) throw new AppError('SERVICE_NOT_FOUND', `Service ${fqdn} does not exist; list the services with GET /services`);

    const events: ServiceEvent[] = [];
    for (const condition of service.conditions) {
      const level = conditionLevels[condition.status];
      events.push({ time: condition.time, source: 'condition', level, subject: condition.type, message: `${condition.reason}: ${condition.message}` });
    }
    if (service.retry.lastError !== null && service.retry.nextAttemptAt !== null) {
      events.push({
        time: service.retry.nextAttemptAt,
        source: 'retry',
        level: 'warning',
        subject: 'retry',
        message: `next attempt after ${service.retry.failures} failure(s): ${service.retry.lastError}`,
      });
    }
    if (audit !== undefined) {
      for (const entry of await audit.read(auditWindow)) {
        if (entry.object !== fqdn) continue;
        const level = entry.result === 'ok' ? 'info' : 'error';
        const message = entry.message === undefined ? `${entry.result} (HTTP ${entry.status})` : `${entry.result} (HTTP ${entry.status}): ${entry.message}`;
        events.push({ time: entry.time, source: 'audit', level, subject: entry.action, message, user: entry.user });
      }
    }
    events.sort((a, b) => b.time.localeCompare(a.time));
    return { data: events.slice(0, request.query.limit) };
  });
}
