import type { ParameterErrors } from './parameters.js';

/**
 * An error sent in the API envelope `{"data": null, "message": ..., "errors"?: ...}` with
 * the message's first line as HTTP reason phrase, as pve-http-server's JSON formatter does.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: ParameterErrors | undefined;

  constructor(status: number, message: string, errors?: ParameterErrors) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }
}

/**
 * An error sent before any API handler runs (authentication, CSRF, unknown HTTP method or
 * URI): pveproxy sends a status line whose reason phrase is the message, without a content type.
 * The body is empty for authentication and method errors and the message text for the others
 * (pve-http-server `AnyEvent.pm`, `response` versus `error`).
 */
export class BareHttpError extends Error {
  readonly status: number;
  readonly sendBody: boolean;

  constructor(status: number, message: string, sendBody: boolean) {
    super(message);
    this.name = 'BareHttpError';
    this.status = status;
    this.sendBody = sendBody;
  }
}

export function parameterError(errors: ParameterErrors): ApiError {
  return new ApiError(400, 'Parameter verification failed.\n', errors);
}

/** PVE's `raise_perm_exc`: 403 "Permission check failed (<path>, <privileges>)". */
export function permissionError(detail?: string): ApiError {
  return new ApiError(403, detail === undefined ? 'Permission check failed\n' : `Permission check failed (${detail})\n`);
}

/** A plain `die` in a PVE handler becomes a 500 whose message is the text. */
export function handlerError(message: string): ApiError {
  return new ApiError(500, `${message}\n`);
}

/** `PVE::Tools::assert_if_modified`: a digest mismatch is a plain `die`, hence HTTP 500. */
export function assertDigest(current: string, expected: string | number | undefined): void {
  if (expected !== undefined && String(expected) !== current) {
    throw handlerError('detected modified configuration - file changed by other user? Try again.');
  }
}
