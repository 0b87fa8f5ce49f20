/**
 * The error registry: every error the daemon reports to a user has a stable code, an HTTP status
 * and a message that names the value and the next step. Internal failures keep the original
 * error in `cause`.
 */

export type ErrorCode =
  // request validation
  | 'INVALID_PARAMETER'
  // domains
  | 'DOMAIN_NOT_FOUND'
  | 'DOMAIN_EXISTS'
  | 'DOMAIN_IN_USE'
  // services
  | 'SERVICE_NOT_FOUND'
  | 'SERVICE_EXISTS'
  // guests and the PVE API
  | 'GUEST_NOT_FOUND'
  | 'GUEST_NO_ADDRESS'
  | 'PVE_API_FAILED'
  // DNS provider
  | 'DNS_AUTH_FAILED'
  | 'DNS_ZONE_NOT_FOUND'
  | 'DNS_RECORD_CONFLICT'
  | 'DNS_API_FAILED'
  | 'DNS_PROPAGATION_TIMEOUT'
  // ACME
  | 'ACME_FAILED'
  | 'ACME_RATE_LIMITED'
  | 'CERTIFICATE_NOT_FOUND'
  | 'CA_UNREACHABLE'
  | 'CERTIFICATE_INVALID'
  // proxy
  | 'PROXY_FAILED'
  // configuration and state
  | 'CONFIG_INVALID'
  | 'STORE_FAILED'
  // cluster filesystem
  | 'CLUSTER_NOT_QUORATE'
  | 'CLUSTER_LOCK_TIMEOUT'
  | 'STATE_TOO_LARGE'
  | 'INTERNAL';

const statusByCode: Record<ErrorCode, number> = {
  INVALID_PARAMETER: 400,
  DOMAIN_NOT_FOUND: 404,
  DOMAIN_EXISTS: 409,
  DOMAIN_IN_USE: 409,
  SERVICE_NOT_FOUND: 404,
  SERVICE_EXISTS: 409,
  GUEST_NOT_FOUND: 404,
  GUEST_NO_ADDRESS: 409,
  PVE_API_FAILED: 502,
  DNS_AUTH_FAILED: 502,
  DNS_ZONE_NOT_FOUND: 502,
  DNS_RECORD_CONFLICT: 409,
  DNS_API_FAILED: 502,
  DNS_PROPAGATION_TIMEOUT: 504,
  ACME_FAILED: 502,
  ACME_RATE_LIMITED: 429,
  CERTIFICATE_NOT_FOUND: 404,
  CA_UNREACHABLE: 502,
  CERTIFICATE_INVALID: 502,
  PROXY_FAILED: 500,
  CONFIG_INVALID: 500,
  STORE_FAILED: 500,
  CLUSTER_NOT_QUORATE: 503,
  CLUSTER_LOCK_TIMEOUT: 503,
  STATE_TOO_LARGE: 507,
  INTERNAL: 500,
};

export interface AppErrorOptions {
  cause?: unknown;
  /** Per-parameter messages, returned as PVE's `errors` object. */
  parameters?: Record<string, string>;
  /** When false, the reconciler stops retrying until the object changes. Default true. */
  retryable?: boolean;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly parameters: Record<string, string> | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = statusByCode[code];
    this.parameters = options.parameters;
    this.retryable = options.retryable ?? true;
  }
}

/** Builds the 400 error for one invalid request parameter. */
export function invalidParameter(name: string, message: string): AppError {
  // PVE's wording: the message is generic and `errors` names each parameter.
  return new AppError('INVALID_PARAMETER', 'Parameter verification failed.', {
    parameters: { [name]: message },
    retryable: false,
  });
}

/** Returns the message of any thrown value, for logs and conditions. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
