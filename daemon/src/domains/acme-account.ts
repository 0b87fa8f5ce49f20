import { createHash } from 'node:crypto';
import acme from 'acme-client';
import { AppError } from '../errors.js';
import { withCaExchange, type CaExchange } from '../acme/problem.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import type { EabCredentials } from './eab.js';

/**
 * Name of the account-key secret of a directory and email. AcmeIssuer uses the same name, so
 * the issuer reuses an account registered here instead of registering a second one.
 */
export function accountKeyName(directory: string, email: string): string {
  return createHash('sha256').update(`${directory}\n${email}`).digest('hex').slice(0, 32);
}

/** Name of the secret holding the EAB HMAC key of `keyId` at `directory`. */
export function eabSecretName(directory: string, keyId: string): string {
  return `eab-${createHash('sha256').update(`${directory}\n${keyId}`).digest('hex').slice(0, 32)}`;
}

export interface AccountRequest {
  directory: string;
  email: string;
  eab: EabCredentials | null;
}

/** Explains an account registration failure, naming the EAB field to fix when the CA points at one. */
function accountProblem(err: unknown, exchange: CaExchange, request: AccountRequest): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof TypeError && /reading 'config'/.test(err.message)) {
    return new AppError('CA_UNREACHABLE', `Unable to register the ACME account at ${request.directory}: the directory is unreachable or its TLS certificate is not trusted; check the URL and the node's network`, { cause: err });
  }
  const problem = exchange.lastProblem;
  const type = problem?.type.replace(/^urn:ietf:params:acme:error:/, '') ?? '';
  const detail = problem === null ? (err as Error).message : `${problem.detail} (HTTP ${problem.status} ${type})`;
  if (type === 'externalAccountRequired') {
    return new AppError('ACME_FAILED', `The CA ${request.directory} requires External Account Binding: ${detail}; enter eab-key-id and eab-hmac-key from the CA's account page`, { cause: err, retryable: false });
  }
  // Pebble 2.4 names an unknown EAB key id as "the field 'kid' references a key that is not known".
  if (/external account|key identifier|\bEAB\b|binding/i.test(detail) || (request.eab !== null && /\bkid\b/.test(detail))) {
    const fields = request.eab === null ? 'enter eab-key-id and eab-hmac-key' : 'check eab-key-id and eab-hmac-key (and that they are not swapped); a key id already bound to another account needs new EAB credentials from the CA';
    return new AppError('ACME_FAILED', `The CA ${request.directory} did not accept the External Account Binding: ${detail}; ${fields}`, { cause: err, retryable: false });
  }
  return new AppError('ACME_FAILED', `Unable to register the ACME account of ${request.email} at ${request.directory}: ${detail}`, { cause: err });
}

/**
 * Registers the ACME account of a directory and email, or finds it when its key is already
 * stored (RFC 8555 section 7.3.1 returns the existing account for a known key). The key and the
 * account URL are kept, so the account is never registered twice. Acme-client's shared HTTPS
 * agent must already trust the CA's listener: AcmeIssuer sets it up from `acme.caFile`.
 */
export async function ensureAcmeAccount(request: AccountRequest, state: StateStore, secrets: SecretStore): Promise<{ url: string; created: boolean }> {
  const keyName = accountKeyName(request.directory, request.email);
  let accountKey = await secrets.read('acme-account', keyName);
  const created = accountKey === null;
  if (accountKey === null) accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  const client = new acme.Client({
    directoryUrl: request.directory,
    accountKey,
    ...(request.eab === null ? {} : { externalAccountBinding: { kid: request.eab.keyId, hmacKey: request.eab.hmacKey } }),
  });
  const url = await withCaExchange(async (exchange) => {
    try {
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${request.email}`] });
      return client.getAccountUrl();
    } catch (err) {
      throw accountProblem(err, exchange, request);
    }
  });
  // The key is stored only once the CA accepted it, so a failed registration leaves no secret.
  if (created) await secrets.write('acme-account', keyName, accountKey);
  await state.update((document) => {
    const known = document.acmeAccounts.find((item) => item.directory === request.directory && item.email === request.email);
    if (known === undefined) document.acmeAccounts.push({ directory: request.directory, email: request.email, url });
    else known.url = url;
  });
  return { url, created };
}
