import { pino, type Logger } from 'pino';

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a logged object, so that a
 * secret passed to a log call by mistake still never reaches the journal.
 */
const redactedPaths = [
  '*.token',
  '*.apiToken',
  '*.cloudflareToken',
  '*["cloudflare-token"]',
  '*.secret',
  '*.password',
  '*.keyPem',
  '*.privateKey',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.csrfpreventiontoken',
];

export function createLogger(level: string = process.env['PVE_DOMAINS_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    level,
    // pino's `name` field; `service` is left free for the service a log line is about.
    name: 'pve-domainsd',
    redact: { paths: redactedPaths, censor: '[redacted]' },
  });
}

export type { Logger };
