import { limitsFor, nameSetKey, usageFor, type LimitUsage } from '../acme/rate-limits.js';
import { caaIdentitiesOf } from '../domains/acme-checks.js';
import { fetchDirectory, readDirectoryMeta, type DirectoryMeta } from '../domains/directories.js';
import { errorMessage } from '../errors.js';
import { warningThresholdMs } from '../reconcile/renewal.js';
import type { CertificateLifecycle, StateDocument, StoredCertificate, StoredDomain } from '../store/model.js';
import { withTimeout } from './bounded.js';
import type { CheckOutcome } from './types.js';

export interface DirectoryResult {
  outcome: CheckOutcome;
  /** The primary directory's meta, or null when it did not answer. */
  meta: DirectoryMeta | null;
}

/** Reads one directory within `timeoutMs`; returns its meta or the error message. */
async function readDirectory(url: string, caFile: string | null, timeoutMs: number): Promise<{ meta: DirectoryMeta } | { error: string }> {
  const read = async (): Promise<{ meta: DirectoryMeta } | { error: string }> => {
    try {
      const document = await fetchDirectory(url, caFile);
      const fields = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
      if (typeof fields['newOrder'] !== 'string' || typeof fields['newNonce'] !== 'string') return { error: `${url} returned JSON without newOrder and newNonce, so it is no ACME directory` };
      return { meta: readDirectoryMeta(document) };
    } catch (err) {
      return { error: errorMessage(err) };
    }
  };
  return withTimeout(timeoutMs, read, () => ({ error: `${url} did not answer within ${Math.round(timeoutMs / 1000)} s` }));
}

/**
 * Reads the ACME directory of the domain and of each fallback issuer. The primary directory not
 * answering fails the check; a fallback not answering only warns, because orders start at the
 * primary.
 */
export async function checkDirectories(domain: StoredDomain, caFile: string | null, timeoutMs: number): Promise<DirectoryResult> {
  const urls = [domain.acmeDirectory, ...(domain.fallbackIssuers ?? []).map((item) => item.directory)];
  const results = await Promise.all(urls.map((url) => readDirectory(url, caFile, timeoutMs)));
  const primary = results[0];
  const networkFix = (url: string): string =>
    `Check that this node reaches ${new URL(url).host} over HTTPS (DNS, firewall, proxy), and the CA's status page; orders resume by themselves once the directory answers`;
  if (primary === undefined || 'error' in primary) {
    return { outcome: { verdict: 'failed', message: primary === undefined ? 'The domain names no ACME directory' : primary.error, fix: networkFix(domain.acmeDirectory) }, meta: null };
  }
  const failedFallbacks = urls.slice(1).flatMap((url, index) => {
    const result = results[index + 1];
    return result !== undefined && 'error' in result ? [{ url, error: result.error }] : [];
  });
  if (failedFallbacks.length > 0) {
    return {
      outcome: {
        verdict: 'warning',
        message: `The ACME directory ${domain.acmeDirectory} answers, but fallback issuers do not: ${failedFallbacks.map((item) => item.error).join('; ')}`,
        fix: networkFix(failedFallbacks[0]?.url ?? domain.acmeDirectory),
      },
      meta: primary.meta,
    };
  }
  const fallbacks = urls.length > 1 ? `, and so ${urls.length === 2 ? 'does the fallback issuer' : `do the ${urls.length - 1} fallback issuers`}` : '';
  return { outcome: { verdict: 'ok', message: `The ACME directory ${domain.acmeDirectory} answers${fallbacks}` }, meta: primary.meta };
}

/** The CAA identities of the domain's CA: from its directory's meta, else from the preset. */
export function caIdentities(domain: StoredDomain, meta: DirectoryMeta | null): string[] {
  return caaIdentitiesOf(domain.acmeDirectory, meta);
}

function describeUsage(usage: LimitUsage): string {
  return `${usage.used} of ${usage.max} ${usage.limit} in the last ${Math.round(usage.windowMs / 3_600_000)} h`;
}

/**
 * Compares the daemon's ledger of orders and certificates with the limits it knows for the
 * domain's CA. `names` is the name set of the service's certificate, or null for a domain.
 */
export function checkRateLimits(state: StateDocument, domain: StoredDomain, names: string[] | null, now = new Date()): CheckOutcome {
  const directory = domain.acmeDirectory;
  const limits = limitsFor(directory);
  if (limits.length === 0) {
    return { verdict: 'ok', message: `The daemon counts no rate limits for ${directory}: it tracks the published limits of Let's Encrypt's production CA only` };
  }
  const account = state.acmeAccounts.find((item) => item.directory === directory)?.url ?? '';
  const order = { directory, account, registeredDomain: domain.name, nameSet: names === null ? '' : nameSetKey(names), renewal: false };
  const usages = usageFor(state.issuanceLedger ?? [], order, limits, now).filter((usage) => names !== null || usage.scope !== 'name-set');
  const exhausted = usages.filter((usage) => usage.used >= usage.max);
  if (exhausted.length > 0) {
    const freesAt = exhausted.map((usage) => usage.freesAt).filter((at): at is string => at !== null).sort().at(-1) ?? 'unknown';
    return {
      verdict: 'failed',
      message: `Rate limit reached at ${directory}: ${exhausted.map(describeUsage).join('; ')}. The daemon sends no new order before ${freesAt}`,
      fix: `Wait until ${freesAt}; renewals that the CA's renewal information covers are exempt. Avoid deleting and re-creating services meanwhile, because each new certificate counts`,
    };
  }
  const close = usages.filter((usage) => usage.used >= usage.max * 0.8);
  if (close.length > 0) {
    return {
      verdict: 'warning',
      message: `Close to a rate limit at ${directory}: ${close.map(describeUsage).join('; ')}`,
      fix: 'Avoid deleting and re-creating services until the counts fall; each new certificate counts against the limit',
    };
  }
  return { verdict: 'ok', message: `Budget left at ${directory}: ${usages.map(describeUsage).join('; ')}` };
}

function renewCommand(id: string): string {
  return `pve-domains create /certificates/${id}/renew`;
}

/** Judges one certificate's renewal state. */
function judgeRenewal(id: string, lifecycle: CertificateLifecycle | undefined, certificate: StoredCertificate | undefined, now: Date): CheckOutcome {
  if (lifecycle?.lastError === null || lifecycle?.lastError === undefined) {
    if (certificate === undefined) return { verdict: 'ok', message: `No order for ${id} has failed; the certificate is not issued yet` };
    const next = lifecycle?.renewAt === null || lifecycle?.renewAt === undefined ? '' : `; next renewal at ${lifecycle.renewAt}${lifecycle.renewRule === null ? '' : ` (${lifecycle.renewRule})`}`;
    return { verdict: 'ok', message: `No renewal of ${id} has failed${next}` };
  }
  const since = lifecycle.lastErrorAt === null ? '' : ` at ${lifecycle.lastErrorAt}`;
  const base = `The last order for ${id} failed${since} (${lifecycle.failures} failure${lifecycle.failures === 1 ? '' : 's'} in a row): ${lifecycle.lastError}`;
  if (lifecycle.blocked) {
    return { verdict: 'failed', message: `${base}. The daemon stopped retrying because waiting cannot fix this error`, fix: `Fix the cause named in the error, then order again with: ${renewCommand(id)}` };
  }
  const retry = lifecycle.nextAttemptAt === null ? '' : `; the next attempt is at ${lifecycle.nextAttemptAt}`;
  const remaining = certificate === undefined ? 0 : Date.parse(certificate.notAfter) - now.getTime();
  const urgent = certificate === undefined || remaining < warningThresholdMs(certificate);
  return {
    verdict: urgent ? 'failed' : 'warning',
    message: `${base}${retry}${certificate === undefined ? '' : `; the current certificate expires at ${certificate.notAfter}`}`,
    fix: `Fix the cause named in the error (the other checks of this diagnosis may name it), then order again at once with: ${renewCommand(id)}`,
  };
}

/**
 * Reports the last renewal error of the certificates: the service's one, or every certificate
 * of a domain, the worst first.
 */
export function checkRenewal(state: StateDocument, ids: string[], now = new Date()): CheckOutcome {
  const lifecycles = state.certificateLifecycles ?? [];
  const outcomes = ids.map((id) =>
    judgeRenewal(
      id,
      lifecycles.find((item) => item.id === id),
      state.certificates.find((item) => item.id === id),
      now,
    ),
  );
  if (outcomes.length === 0) return { verdict: 'ok', message: 'The domain has no certificates yet' };
  const rank = { failed: 0, warning: 1, skipped: 2, ok: 3 } as const;
  const sorted = [...outcomes].sort((a, b) => rank[a.verdict] - rank[b.verdict]);
  const worst = sorted[0] as CheckOutcome;
  if (outcomes.length === 1 || worst.verdict !== 'ok') return worst;
  return { verdict: 'ok', message: `No renewal of the ${outcomes.length} certificates of the domain has failed` };
}
