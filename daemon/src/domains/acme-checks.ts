import { Resolver } from 'node:dns/promises';
import { errorMessage } from '../errors.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import type { VerificationCheck } from '../store/model.js';
import { ensureAcmeAccount, type AccountRequest } from './acme-account.js';
import { fetchDirectory, presetOfUrl, profileProblem, readDirectoryMeta, type DirectoryMeta } from './directories.js';

export interface IssuerCheckRequest extends AccountRequest {
  /** Profile requested in orders, checked against the directory's `meta.profiles`; null for none. */
  profile: string | null;
}

/**
 * Reads the directory, checks the EAB requirement and the profile, then registers or finds the
 * account. Returns the check and the directory's meta (null when unreadable) for the CAA check.
 */
export async function issuerCheck(request: IssuerCheckRequest, caFile: string | null, state: StateStore, secrets: SecretStore): Promise<{ check: VerificationCheck; meta: DirectoryMeta | null }> {
  let meta: DirectoryMeta;
  try {
    meta = readDirectoryMeta(await fetchDirectory(request.directory, caFile));
  } catch (err) {
    return { check: { check: 'acme-account', status: 'fail', message: errorMessage(err) }, meta: null };
  }
  const requiresEab = meta.externalAccountRequired || presetOfUrl(request.directory)?.requiresEab === true;
  if (requiresEab && request.eab === null) {
    return { check: { check: 'acme-account', status: 'fail', message: `The CA ${request.directory} requires External Account Binding; enter eab-key-id and eab-hmac-key from the CA's account page` }, meta };
  }
  if (request.profile !== null) {
    const problem = profileProblem(request.profile, meta, request.directory);
    if (problem !== null) return { check: { check: 'acme-account', status: 'fail', message: `Invalid acme-profile: ${problem}` }, meta };
  }
  try {
    const account = await ensureAcmeAccount(request, state, secrets);
    const verb = account.created ? 'Registered' : 'Found';
    return { check: { check: 'acme-account', status: 'pass', message: `${verb} the ACME account of ${request.email} at ${request.directory}: ${account.url}` }, meta };
  } catch (err) {
    return { check: { check: 'acme-account', status: 'fail', message: errorMessage(err) }, meta };
  }
}

/** CA identities that CAA records must name: the directory's `meta.caaIdentities`, else the preset's. */
export function caaIdentitiesOf(directory: string, meta: DirectoryMeta | null): string[] {
  if (meta !== null && meta.caaIdentities.length > 0) return meta.caaIdentities;
  return presetOfUrl(directory)?.caaIdentities ?? [];
}

/**
 * Checks the CAA record set that applies to `domain` (RFC 8659 section 3: the closest name at or
 * above `domain` that has CAA records, up to `zone`). Warns only: a mismatch makes orders fail
 * later, and the admin may fix CAA after saving.
 */
export async function caaCheck(domain: string, zone: string, identities: string[], resolvers: string[]): Promise<VerificationCheck> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (resolvers.length > 0) resolver.setServers(resolvers);
  const labels = domain.split('.');
  for (let start = 0; start <= labels.length - zone.split('.').length; start++) {
    const name = labels.slice(start).join('.');
    let records;
    try {
      records = await resolver.resolveCaa(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') continue;
      return { check: 'caa', status: 'warn', message: `The CAA lookup of ${name} failed (${errorMessage(err)}); if CAA records exist there, they must allow ${identities.join(' or ') || 'the CA'}` };
    }
    const issuers = records.flatMap((record) => [record.issue, record.issuewild]).filter((value): value is string => typeof value === 'string');
    if (issuers.length === 0) continue;
    const allowed = issuers.map((value) => value.split(';')[0]?.trim().toLowerCase() ?? '');
    if (identities.length === 0) return { check: 'caa', status: 'warn', message: `${name} has CAA records (${allowed.join(', ')}), and the CA names no CAA identity to compare; check that they allow it` };
    if (identities.some((identity) => allowed.includes(identity.toLowerCase()))) {
      return { check: 'caa', status: 'pass', message: `The CAA records of ${name} allow ${identities.join(', ')}` };
    }
    return { check: 'caa', status: 'warn', message: `The CAA records of ${name} allow only ${allowed.join(', ')}; add a CAA issue record for ${identities[0] ?? 'the CA'} or orders will fail` };
  }
  return { check: 'caa', status: 'pass', message: `No CAA records at or above ${domain}; every CA may issue` };
}
