import type { CertificateLifecycle, StoredCertificate } from '../store/model.js';

const day = 86_400_000;

/** What one renewal pass does with one certificate. */
export type RenewalAction =
  /** Order a new certificate now. */
  | 'renew'
  /** Fetch the ARI window first, then decide. */
  | 'fetch-ari'
  /** Nothing to do before `at`. */
  | 'wait'
  /** A failed order is retried at `at`. */
  | 'backoff'
  /** A failure that waiting cannot heal; nothing happens until the domain settings change. */
  | 'blocked';

export interface RenewalDecision {
  id: string;
  serial: string;
  action: RenewalAction;
  /** When the action is due, or null when not scheduled. */
  at: Date | null;
  /** The rule that set `at`: `ari-window`, `one-third-remaining`, `half-remaining`, `backoff`, `rate-limit`. */
  rule: string;
}

/**
 * Renewal point without renewal information from the CA: when one third of the lifetime is
 * left, or one half for certificates shorter than 10 days, so that 90-, 45- and 6-day
 * certificates all keep time for retries.
 */
export function lifetimeRenewal(certificate: StoredCertificate): { at: Date; rule: string } {
  const notBefore = Date.parse(certificate.notBefore);
  const notAfter = Date.parse(certificate.notAfter);
  const lifetime = notAfter - notBefore;
  if (lifetime < 10 * day) return { at: new Date(notAfter - lifetime / 2), rule: 'half-remaining' };
  return { at: new Date(notAfter - lifetime / 3), rule: 'one-third-remaining' };
}

/** Time left below which a failing renewal raises an expiry warning: 14 days, or a third of a short lifetime. */
export function warningThresholdMs(certificate: StoredCertificate): number {
  const lifetime = Date.parse(certificate.notAfter) - Date.parse(certificate.notBefore);
  return Math.min(14 * day, lifetime / 3);
}

/**
 * Sorts certificates into actions without side effects, the first phase of a renewal pass.
 * `ariDirectories` names the directories whose CA offers renewalInfo.
 */
export function planRenewals(
  certificates: StoredCertificate[],
  lifecycles: CertificateLifecycle[],
  ariDirectories: ReadonlySet<string>,
  now: Date,
): RenewalDecision[] {
  return certificates.map((certificate) => {
    const lifecycle = lifecycles.find((item) => item.id === certificate.id);
    const base = { id: certificate.id, serial: certificate.serial };
    if (lifecycle?.blocked === true) return { ...base, action: 'blocked', at: null, rule: 'blocked' };
    if (lifecycle?.nextAttemptAt != null && Date.parse(lifecycle.nextAttemptAt) > now.getTime()) {
      return { ...base, action: 'backoff', at: new Date(lifecycle.nextAttemptAt), rule: lifecycle.renewRule === 'rate-limit' ? 'rate-limit' : 'backoff' };
    }
    // An order that a restart interrupted is resumed at once.
    if (lifecycle?.pendingOrder != null) return { ...base, action: 'renew', at: now, rule: 'resume-order' };
    // An expired certificate is renewed at once, whatever the CA's window is.
    if (Date.parse(certificate.notAfter) <= now.getTime()) return { ...base, action: 'renew', at: now, rule: 'expired' };
    if (ariDirectories.has(certificate.directory) && certificate.ariCertId !== undefined) {
      const ari = lifecycle?.ari ?? null;
      if (ari === null || Date.parse(ari.checkAfter) <= now.getTime()) return { ...base, action: 'fetch-ari', at: now, rule: 'ari-window' };
      const selected = new Date(ari.selected);
      return { ...base, action: selected <= now ? 'renew' : 'wait', at: selected, rule: 'ari-window' };
    }
    const { at, rule } = lifetimeRenewal(certificate);
    return { ...base, action: at <= now ? 'renew' : 'wait', at, rule };
  });
}

/** The earliest future time at which a decision becomes due, or null. */
export function nextDueTime(decisions: RenewalDecision[], lifecycles: CertificateLifecycle[]): Date | null {
  const times: number[] = [];
  for (const decision of decisions) {
    if (decision.at !== null && decision.action !== 'blocked') times.push(decision.at.getTime());
    const ari = lifecycles.find((item) => item.id === decision.id)?.ari;
    if (ari != null) times.push(Date.parse(ari.checkAfter));
  }
  return times.length === 0 ? null : new Date(Math.min(...times));
}
