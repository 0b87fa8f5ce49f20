import type { CaaRecord } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { errorMessage } from '../errors.js';
import type { CheckOutcome } from './types.js';

/** The CAA records that apply to an identifier, and the name they were found at. */
export interface CaaSet {
  name: string;
  records: CaaRecord[];
}

/** Resolver error codes that mean "no CAA records at this name" rather than a failed lookup. */
const absentCodes = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * Finds the CAA record set that applies to `identifier` (RFC 8659 section 3): the records at the
 * closest name, from the identifier (without a `*.` label) up to `stopAt`, that has any. Returns
 * null when no name up to `stopAt` has CAA records; throws when a lookup fails.
 */
export async function findCaaSet(identifier: string, stopAt: string, resolvers: string[], signal?: AbortSignal): Promise<CaaSet | null> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (resolvers.length > 0) resolver.setServers(resolvers);
  signal?.addEventListener('abort', () => resolver.cancel(), { once: true });
  const base = identifier.startsWith('*.') ? identifier.slice(2) : identifier;
  const labels = base.split('.');
  const stopLabels = stopAt.split('.').length;
  for (let start = 0; labels.length - start >= stopLabels; start++) {
    const name = labels.slice(start).join('.');
    try {
      const records = await resolver.resolveCaa(name);
      if (records.length > 0) return { name, records };
    } catch (err) {
      if (absentCodes.has((err as NodeJS.ErrnoException).code ?? '')) continue;
      throw new Error(`The CAA lookup of ${name} failed: ${errorMessage(err)}`, { cause: err });
    }
  }
  return null;
}

/** Returns the issuer domain of an issue or issuewild value (`letsencrypt.org; accounturi=...`); '' forbids every CA. */
function issuerDomain(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Returns the issuers the set allows for `identifier`, or null when it does not restrict issuance. A
 * wildcard identifier is governed by `issuewild` when the set has any, else by `issue`
 * (RFC 8659 section 4.3). An empty list means no CA may issue.
 */
export function allowedIssuers(identifier: string, set: CaaSet): string[] | null {
  const wildcard = identifier.startsWith('*.');
  const issueWild = set.records.flatMap((record) => (typeof record.issuewild === 'string' ? [record.issuewild] : []));
  const issue = set.records.flatMap((record) => (typeof record.issue === 'string' ? [record.issue] : []));
  const relevant = wildcard && issueWild.length > 0 ? issueWild : issue;
  if (relevant.length === 0) return null;
  return relevant.map(issuerDomain).filter((domain) => domain !== '');
}

/**
 * Judges whether the CA, known by its CAA `identities`, may issue for each identifier, from the
 * record set found for each (null: none found).
 */
export function judgeCaa(sets: Array<{ identifier: string; set: CaaSet | null }>, identities: string[], directory: string): CheckOutcome {
  const expected = identities.map((identity) => identity.toLowerCase());
  const notes: string[] = [];
  for (const { identifier, set } of sets) {
    if (set === null) {
      notes.push(`no CAA records apply to ${identifier}`);
      continue;
    }
    const allowed = allowedIssuers(identifier, set);
    if (allowed === null) {
      notes.push(`the CAA records of ${set.name} do not restrict issuance for ${identifier}`);
      continue;
    }
    const tag = identifier.startsWith('*.') && set.records.some((record) => typeof record.issuewild === 'string') ? 'issuewild' : 'issue';
    if (expected.length === 0) {
      return {
        verdict: 'warning',
        message: `The CAA records of ${set.name} allow ${allowed.join(', ') || 'no CA'} for ${identifier}, and the CA at ${directory} publishes no CAA identity to compare with`,
        fix: `Check in the CA's documentation which domain it checks in CAA records, and add a CAA ${tag} record for it at ${set.name} in the Cloudflare dashboard`,
      };
    }
    if (!allowed.some((domain) => expected.includes(domain))) {
      const only = allowed.length === 0 ? 'no CA at all' : `only ${allowed.join(', ')}`;
      return {
        verdict: 'failed',
        message: `The CAA records of ${set.name} allow ${only} for ${identifier}; the CA at ${directory} checks for ${expected.join(' or ')}, so it rejects every order`,
        fix: `In the Cloudflare dashboard (DNS > Records), add a CAA record at ${set.name} with the tag ${tag} and the value ${expected[0] ?? ''}, or remove the CAA records that leave it out`,
      };
    }
    notes.push(`the CAA records of ${set.name} allow ${expected.filter((identity) => allowed.includes(identity)).join(', ')} for ${identifier}`);
  }
  return { verdict: 'ok', message: `${notes.join('; ')}`.replace(/^./, (first) => first.toUpperCase()) };
}
