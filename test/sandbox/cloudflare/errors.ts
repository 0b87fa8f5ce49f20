/** One item of the `errors` or `messages` array of a Cloudflare v4 envelope. */
export interface ErrorItem {
  code: number;
  message: string;
  error_chain?: Array<{ code: number; message: string }>;
}

/**
 * A failed API call: HTTP status plus the `errors` array. `bare` bodies carry only `success` and
 * `errors`, as several real Cloudflare failures do (no `messages`, no `result`).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: ErrorItem[];
  readonly bare: boolean;
  readonly headers: Record<string, string>;

  constructor(status: number, errors: ErrorItem[], options: { bare?: boolean; headers?: Record<string, string> } = {}) {
    super(errors.map((item) => `${item.code}: ${item.message}`).join('; '));
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
    this.bare = options.bare ?? false;
    this.headers = options.headers ?? {};
  }
}

function single(status: number, code: number, message: string, bare = false): ApiError {
  return new ApiError(status, [{ code, message }], { bare });
}

// Auth failures, Cloudflare API v4 as observed in 2024-2025 client reports.
export const missingAuthHeaders = (): ApiError =>
  single(400, 9106, 'Missing X-Auth-Key, X-Auth-Email or Authorization headers', true);

export function invalidRequestHeaders(chain: Array<{ code: number; message: string }>): ApiError {
  return new ApiError(400, [{ code: 6003, message: 'Invalid request headers', error_chain: chain }]);
}

export const BAD_AUTHORIZATION_FORMAT = { code: 6111, message: 'Invalid format for Authorization header' };
export const BAD_KEY_FORMAT = { code: 6103, message: 'Invalid format for X-Auth-Key header' };
export const BAD_EMAIL_FORMAT = { code: 6102, message: 'Invalid format for X-Auth-Email header' };

export const invalidApiToken = (): ApiError => single(401, 1000, 'Invalid API Token', true);
// NOTE: the body for an unknown token outside the verify endpoints is the widely reported
// 9109 "Invalid access token"; Cloudflare does not document the HTTP status, 403 is assumed.
export const invalidAccessToken = (): ApiError => single(403, 9109, 'Invalid access token');
// NOTE: 403 is assumed; reports quote only the code and message.
export const unknownGlobalKey = (): ApiError => single(403, 9103, 'Unknown X-Auth-Key or X-Auth-Email');
export const missingAuthorizationHeader = (): ApiError => single(400, 1001, 'Missing "Authorization" header');
export const authenticationError = (): ApiError => single(403, 10000, 'Authentication error', true);

export const rateLimited = (retryAfterSeconds: number): ApiError =>
  new ApiError(
    429,
    [{ code: 10429, message: 'Rate limited. Please wait and consider throttling your request speed' }],
    { bare: true, headers: { 'retry-after': String(retryAfterSeconds) } },
  );

// Routing.
export const noRoute = (): ApiError => single(404, 7000, 'No route for that URI');
export const couldNotRoute = (path: string): ApiError =>
  single(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
export const malformedJson = (): ApiError => single(400, 6007, 'Malformed JSON in request body');
export const bodyTooLarge = (limit: number): ApiError =>
  single(413, 6007, `Request body is larger than ${limit} bytes`);

// DNS record validation; root codes without the pre-2024-10 1004 wrapper.
export const recordNotFound = (): ApiError => single(404, 81044, 'Record does not exist.');
export const identicalRecord = (): ApiError => single(400, 81058, 'An identical record already exists.');
export const cnameOverAddress = (): ApiError =>
  single(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
export const addressOverCname = (): ApiError =>
  single(
    400,
    81054,
    'A CNAME record with that host already exists. For more details, refer to ' +
      '<https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.',
  );
export const quotaExceeded = (): ApiError => single(400, 81045, 'Record quota exceeded.');
export const invalidTtl = (): ApiError =>
  single(400, 9021, 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.');
export const notProxiable = (): ApiError => single(400, 9004, 'This kind of record cannot be proxied');
export const commentTooLong = (max: number): ApiError =>
  single(400, 9313, `DNS record comment exceeds the maximum length of ${max} characters.`);
export const tooManyTags = (count: number, quota: number): ApiError =>
  single(400, 9300, `DNS record has ${count} tags, exceeding the quota of ${quota}.`);

/**
 * A validation failure whose code Cloudflare does not document (missing field, bad content,
 * unsupported type, bad query parameter). NOTE: the simulator sends code 1004 with a specific
 * message for all of these, so callers must not rely on the code.
 */
export const validationFailed = (message: string): ApiError => single(400, 1004, message);

/** Failure of an injected fault when the test gives no body. */
export const injectedFault = (status: number): ApiError => single(status, 10001, 'Injected fault');
