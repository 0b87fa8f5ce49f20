/** Types of a diagnosis: the response of `GET /diagnose/{name}`. */

export type CheckVerdict = 'ok' | 'warning' | 'failed' | 'skipped';
export type OverallVerdict = 'ok' | 'warning' | 'failed';

/**
 * Every check a diagnosis can contain, in the order of the response, with its title. The ids and
 * titles are part of the API: the CLI prints them and the admin guide refers to them.
 */
export const checkTitles = {
  credentials: 'Cloudflare credentials reach the zone',
  zone: 'Zone is active',
  delegation: 'Nameservers are delegated to Cloudflare',
  'dns-edit': 'Credentials may edit DNS records',
  records: 'Service DNS records',
  conflicts: 'No conflicting DNS records',
  'acme-challenge': '_acme-challenge TXT record at every authoritative server',
  'ca-directory': 'ACME directory answers',
  caa: 'CAA records allow the CA',
  'rate-limits': 'Rate-limit budget left',
  renewal: 'Last renewal',
  'served-certificate': 'Certificate served by the ingress',
  'certificate-expiry': 'Expiry of the served certificate',
} as const;

export type CheckId = keyof typeof checkTitles;

export const checkIds = Object.keys(checkTitles) as CheckId[];

/** Checks that apply to a service only; a domain's diagnosis leaves them out. */
export const serviceOnlyChecks: ReadonlySet<CheckId> = new Set(['records', 'conflicts', 'served-certificate', 'certificate-expiry']);

/** The outcome of one check; `fix` tells the admin what to do and is absent when nothing is to do. */
export interface CheckOutcome {
  verdict: CheckVerdict;
  message: string;
  fix?: string;
}

export interface DiagnosticCheck extends CheckOutcome {
  id: CheckId;
  title: string;
}

export interface Diagnosis {
  name: string;
  kind: 'domain' | 'service';
  verdict: OverallVerdict;
  checks: DiagnosticCheck[];
}

export function toCheck(id: CheckId, outcome: CheckOutcome): DiagnosticCheck {
  const check: DiagnosticCheck = { id, title: checkTitles[id], verdict: outcome.verdict, message: outcome.message };
  if (outcome.fix !== undefined) check.fix = outcome.fix;
  return check;
}

export function skipped(message: string): CheckOutcome {
  return { verdict: 'skipped', message };
}

/** The worst verdict of the checks; skipped checks count as neither good nor bad. */
export function overallVerdict(checks: readonly DiagnosticCheck[]): OverallVerdict {
  if (checks.some((check) => check.verdict === 'failed')) return 'failed';
  if (checks.some((check) => check.verdict === 'warning')) return 'warning';
  return 'ok';
}
