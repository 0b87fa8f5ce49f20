import type { FastifyInstance } from 'fastify';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/exposition.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';
import type { ApiContext } from './context.js';

/**
 * Optional addition to the API context: the daemon's metrics. Without it the route serves a set
 * of its own, holding the API request counts of this app only.
 */
export interface MetricsSource {
  metrics?: DaemonMetrics;
}

/**
 * Registers `GET /metrics` (Prometheus text format 0.0.4) and counts every response of this API
 * by method and status.
 */
export function registerMetricsRoutes(app: FastifyInstance, context: ApiContext): void {
  const metrics = (context as ApiContext & MetricsSource).metrics ?? new DaemonMetrics();

  app.addHook('onResponse', async (request, reply) => {
    metrics.apiRequests.inc({ method: request.method, status: String(reply.statusCode) });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.render();
    return reply.type(EXPOSITION_CONTENT_TYPE).send(text);
  });
}
