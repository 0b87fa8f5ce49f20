import type { FastifyInstance } from 'fastify';
import type { StatusReporter } from '../diagnose/status.js';
import { AppError } from '../errors.js';
import type { ApiContext } from './context.js';

/** Optional addition to the API context: the status reader, which the daemon passes. */
export interface StatusSource {
  statusReporter?: StatusReporter;
}

const statusSchema = {
  summary: "Returns this node's daemon, the cluster's work lock, quorum, HAProxy and the reconcile queue.",
  response: {
    200: {
      type: 'object',
      properties: {
        data: {
          type: 'object',
          required: ['node', 'version', 'lock', 'quorate', 'haproxy', 'queue'],
          properties: {
            node: { type: 'string', description: 'PVE name of the node that handled the request.' },
            version: { type: 'string', description: 'Version of pve-domainsd.' },
            lock: {
              type: 'object',
              required: ['holder', 'held'],
              description: 'The work lock: one node at a time talks to Cloudflare and the CA.',
              properties: {
                holder: { type: ['string', 'null'], description: 'Node that holds the lock, or null.' },
                held: { type: 'boolean', description: 'Whether a node holds the lock now (it is not stale).' },
              },
            },
            quorate: { type: 'boolean', description: 'Whether the cluster filesystem accepts writes.' },
            haproxy: {
              type: 'object',
              required: ['running', 'pid', 'version'],
              properties: {
                running: { type: 'boolean' },
                pid: { type: ['integer', 'null'], description: 'PID of the HAProxy master process.' },
                version: { type: ['string', 'null'], description: 'Version the running HAProxy reports.' },
              },
            },
            queue: {
              type: 'object',
              required: ['pending', 'failing'],
              properties: {
                pending: { type: 'integer', description: 'Services queued for a reconcile pass.' },
                failing: { type: 'integer', description: 'Services whose last reconcile pass failed.' },
              },
            },
          },
        },
      },
    },
  },
} as const;

export function registerStatusRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/status', { schema: statusSchema }, async () => {
    const { statusReporter } = context as ApiContext & StatusSource;
    if (statusReporter === undefined) throw new AppError('INTERNAL', 'This daemon was started without a status reader');
    return { data: await statusReporter.report() };
  });
}
