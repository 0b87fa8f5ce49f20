import acme from 'acme-client';
import type { Counter } from './registry.js';

export interface CaRequestCounters {
  caRequests: Counter<'operation' | 'status'>;
  caErrors: Counter<'operation'>;
}

/**
 * Path fragments of RFC 8555 resources as Let's Encrypt (Boulder) and Pebble name them, first
 * match wins. CAs name their URLs freely, so an unknown URL counts as `other`.
 */
const operations: ReadonlyArray<[RegExp, string]> = [
  [/renewal-?info/i, 'renewal-info'],
  [/nonce/i, 'new-nonce'],
  [/new-acct|new-account|sign-me-up|\/acct\b|\/account\b|my-account/i, 'account'],
  [/new-order|order-plz/i, 'new-order'],
  [/finalize/i, 'finalize'],
  [/authz/i, 'authorization'],
  [/chal/i, 'challenge'],
  [/\/cert/i, 'certificate'],
  [/order/i, 'order'],
  [/dir(ectory)?\/?$/i, 'directory'],
];

/** Names the ACME operation of a request URL by its path. */
export function caOperation(url: string | undefined): string {
  let path = url ?? '';
  try {
    path = new URL(path).pathname;
  } catch {
    // A relative or invalid URL is matched as it is.
  }
  for (const [pattern, name] of operations) if (pattern.test(path)) return name;
  return 'other';
}

interface ResponseLike {
  status?: number;
  config?: { url?: string };
}

let target: CaRequestCounters | null = null;
let installed = false;

function count(url: string | undefined, status: number | null): void {
  if (target === null) return;
  const operation = caOperation(url);
  target.caRequests.inc({ operation, status: status === null ? 'none' : String(status) });
  if (status === null || status >= 400) target.caErrors.inc({ operation });
}

/**
 * Counts every request sent through acme-client's shared axios instance (acme-client 5.4.0 sends
 * its own requests and the renewal-information requests of this daemon through it). The
 * interceptor is installed once per process; a later call moves the counting to `counters`.
 */
export function countCaRequests(counters: CaRequestCounters): void {
  target = counters;
  if (installed) return;
  installed = true;
  acme.axios.interceptors.response.use(
    (response) => {
      count(response.config.url, response.status);
      return response;
    },
    (error: unknown) => {
      const shaped = error as { response?: ResponseLike; config?: { url?: string } };
      count(shaped.response?.config?.url ?? shaped.config?.url, shaped.response?.status ?? null);
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
  );
}
