import type { TokenVerifyResponse } from 'cloudflare/resources/user/tokens/tokens';
import type { ApiContext, ApiResult } from './api-context.js';
import type { TokenRecord } from './auth.js';
import { couldNotRoute, invalidApiToken, missingAuthorizationHeader } from './errors.js';

function verifyResult(token: TokenRecord): ApiResult {
  const result: TokenVerifyResponse = {
    id: token.id,
    status: token.status,
    ...(token.expiresOn !== undefined ? { expires_on: token.expiresOn } : {}),
  };
  // The live API sends this message, with `type: null`, for an active token. NOTE: what it sends
  // for a disabled or expired token is undocumented; the simulator sends status 200 and no message.
  const messages = token.status === 'active' ? [{ code: 10000, message: 'This API Token is valid and active', type: null }] : [];
  return { result, messages };
}

/**
 * GET /user/tokens/verify. Only Bearer tokens are accepted; account-owned tokens must use the
 * account endpoint, and Cloudflare rejects them here with 401/1000 "Invalid API Token".
 */
export function verifyUserToken(context: ApiContext): ApiResult {
  if (context.principal.kind === 'key') throw missingAuthorizationHeader();
  if (context.principal.token.owner !== 'user') throw invalidApiToken();
  return verifyResult(context.principal.token);
}

/** GET /accounts/{account_id}/tokens/verify, for account-owned tokens. */
export function verifyAccountToken(context: ApiContext, accountId: string): ApiResult {
  if (context.principal.kind === 'key') throw missingAuthorizationHeader();
  if (accountId !== context.owner.accountId) throw couldNotRoute(context.fullPath);
  if (context.principal.token.owner !== 'account') throw invalidApiToken();
  return verifyResult(context.principal.token);
}
