import type { FastifyInstance } from 'fastify';
import type { Diagnostics } from '../diagnose/diagnostics.js';
import { checkIds } from '../diagnose/types.js';
import { AppError } from '../errors.js';
import type { ApiContext } from './context.js';

/** Optional addition to the API context: the diagnosis runner, which the daemon passes. */
export interface DiagnoseSource {
  diagnostics?: Diagnostics;
}

const checkSchema = {
  type: 'object',
  required: ['id', 'title', 'verdict', 'message'],
  properties: {
    id: { type: 'string', enum: checkIds, description: 'Stable id of the check.' },
    title: { type: 'string', description: 'What the check looks at.' },
    verdict: { type: 'string', enum: ['ok', 'warning', 'failed', 'skipped'] },
    message: { type: 'string', description: 'What the check found.' },
    fix: { type: 'string', description: 'What to do; absent when nothing is to do.' },
  },
} as const;

const diagnoseSchema = {
  summary: 'Checks a domain or a service from the Cloudflare credentials to the certificate the ingress serves.',
  description:
    'Runs every check, each within its own time limit, and returns a verdict and a fix for each. The only change made is a probe TXT record at the _acme-challenge name, which is deleted again. Nothing is cached.',
  params: {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', maxLength: 300, description: 'A registered domain or the name of a service.' } },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        data: {
          type: 'object',
          required: ['name', 'kind', 'verdict', 'checks'],
          properties: {
            name: { type: 'string' },
            kind: { type: 'string', enum: ['domain', 'service'] },
            verdict: { type: 'string', enum: ['ok', 'warning', 'failed'], description: 'failed when a check failed, warning when one warned, else ok.' },
            checks: { type: 'array', items: checkSchema },
          },
        },
      },
    },
  },
} as const;

export function registerDiagnoseRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get<{ Params: { name: string } }>('/diagnose/:name', { schema: diagnoseSchema }, async (request) => {
    const { diagnostics } = context as ApiContext & DiagnoseSource;
    if (diagnostics === undefined) throw new AppError('INTERNAL', 'This daemon was started without diagnostics');
    return { data: await diagnostics.diagnose(request.params.name) };
  });
}
