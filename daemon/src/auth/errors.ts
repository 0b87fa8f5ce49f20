/**
 * A refused request: 401 when the caller is not authenticated, 403 when a privilege is missing.
 * The message doubles as the HTTP reason phrase, as pveproxy sends it.
 */
export class AccessError extends Error {
  readonly statusCode: 401 | 403;

  constructor(statusCode: 401 | 403, message: string) {
    super(message);
    this.name = 'AccessError';
    this.statusCode = statusCode;
  }
}

/** Builds the 401 response, with pveproxy's reason phrases ("No ticket", "Authentication failed!", ...). */
export function unauthorized(message: string): AccessError {
  return new AccessError(401, message);
}

/** Builds PVE's 403 response, `Permission check failed (<path>, <privilege>)`. */
export function permissionDenied(path: string, privilege: string): AccessError {
  return new AccessError(403, `Permission check failed (${path}, ${privilege})`);
}
