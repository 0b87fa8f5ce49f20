import { AsyncLocalStorage } from 'node:async_hooks';
import acme from 'acme-client';
import { AppError } from '../errors.js';

/** An RFC 7807 problem document from the CA with the status and Retry-After of its response. */
export interface CaProblem {
  status: number;
  type: string;
  detail: string;
  /** The document as the CA sent it, serialised. */
  document: string;
  /** Retry-After of the response as an absolute time, or null. */
  retryAfter: Date | null;
  url: string;
}

/** Headers the issuer reads from the last CA response of the current order flow. */
export interface CaExchange {
  lastProblem: CaProblem | null;
  lastRetryAfter: Date | null;
}

const exchanges = new AsyncLocalStorage<CaExchange>();
let installed = false;

/**
 * Parses Retry-After as seconds or an HTTP date (RFC 9110 section 10.2.3). Returns null for a
 * value that is neither, or that lies past the largest time a Date holds.
 */
export function parseRetryAfter(header: unknown, now = new Date()): Date | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  const text = header.trim();
  const date = /^\d+$/.test(text) ? new Date(now.getTime() + Number(text) * 1000) : new Date(Date.parse(text));
  return Number.isNaN(date.getTime()) ? null : date;
}

interface ResponseShape {
  status: number;
  headers: Record<string, unknown>;
  data: unknown;
  config: { url?: string };
}

function record(response: ResponseShape): void {
  const exchange = exchanges.getStore();
  if (exchange === undefined) return;
  const retryAfter = parseRetryAfter(response.headers['retry-after']);
  exchange.lastRetryAfter = retryAfter;
  if (response.status < 400) return;
  const data = response.data;
  const body = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  exchange.lastProblem = {
    status: response.status,
    type: typeof body['type'] === 'string' ? body['type'] : '',
    detail: typeof body['detail'] === 'string' ? body['detail'] : '',
    document: typeof data === 'string' ? data : JSON.stringify(data),
    retryAfter,
    url: response.config.url ?? '',
  };
}

/**
 * Hooks into acme-client's shared axios instance (acme-client 5.4.0 sends every request through
 * it) so that the problem document and Retry-After of each response reach the issuer; the
 * library's own errors carry only the detail text.
 */
export function installProblemCapture(): void {
  if (installed) return;
  installed = true;
  acme.axios.interceptors.response.use(
    (response) => {
      record(response);
      return response;
    },
    (error: unknown) => {
      const response = (error as { response?: ResponseShape }).response;
      if (response !== undefined) record(response);
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
  );
}

/** Runs `fn` with its own record of CA responses. */
export function withCaExchange<T>(fn: (exchange: CaExchange) => Promise<T>): Promise<T> {
  const exchange: CaExchange = { lastProblem: null, lastRetryAfter: null };
  return exchanges.run(exchange, () => fn(exchange));
}

/** RFC 8555 section 6.7 error types that waiting does not heal. */
const permanentTypes = new Set(['caa', 'unauthorized', 'rejectedIdentifier', 'accountDoesNotExist', 'externalAccountRequired', 'unsupportedIdentifier', 'userActionRequired']);

/** Retry class of a failure: wait for Retry-After, stop until the settings change, or back off. */
export type FailureKind = 'rate-limited' | 'permanent' | 'transient';

export class CaError extends AppError {
  readonly kind: FailureKind;
  readonly problem: CaProblem | null;
  /** Earliest time of the next request, from Retry-After or the ledger, or null. */
  readonly notBefore: Date | null;

  constructor(message: string, kind: FailureKind, problem: CaProblem | null, notBefore: Date | null, cause?: unknown) {
    super(kind === 'rate-limited' ? 'ACME_RATE_LIMITED' : 'ACME_FAILED', message, { cause, retryable: kind !== 'permanent' });
    this.kind = kind;
    this.problem = problem;
    this.notBefore = notBefore;
  }
}

function shortType(type: string): string {
  return type.replace(/^urn:ietf:params:acme:error:/, '');
}

/**
 * Maps a failure of an acme-client call to a CaError, using the last problem document of the
 * exchange. acme-client reports a TLS failure or a refused connection as "TypeError: Cannot read
 * properties of undefined (reading 'config')" after its retries (acme-client 5.4.0).
 */
export function translateCaError(err: unknown, exchange: CaExchange, directory: string, action: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof TypeError && /reading 'config'/.test(err.message)) {
    return new AppError('CA_UNREACHABLE', `Unable to ${action}: the ACME directory ${directory} is unreachable or its TLS certificate is not trusted; check the URL and the node's network`, { cause: err });
  }
  const problem = exchange.lastProblem;
  exchange.lastProblem = null;
  const message = (err as Error).message;
  if (problem === null) return new CaError(`Unable to ${action} at ${directory}: ${message}`, 'transient', null, null, err);
  const type = shortType(problem.type);
  const verbatim = `HTTP ${problem.status} ${problem.document}`;
  if (type === 'rateLimited' || problem.status === 429) {
    const until = problem.retryAfter === null ? '' : ` until ${problem.retryAfter.toISOString()}`;
    return new CaError(`Unable to ${action}: the CA ${directory} rate-limits this request${until}: ${verbatim}; use a staging directory for tests`, 'rate-limited', problem, problem.retryAfter, err);
  }
  const kind: FailureKind = permanentTypes.has(type) ? 'permanent' : 'transient';
  const next = kind === 'permanent' ? '; fix the domain settings (CAA records, account, identifiers), which restarts the retries' : '';
  return new CaError(`Unable to ${action} at ${directory}: ${verbatim}${next}`, kind, problem, problem.retryAfter, err);
}
