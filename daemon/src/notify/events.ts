import type { StoredCertificate } from '../store/model.js';

/**
 * Event names. They appear in mail subjects and webhook bodies, so they are part of the
 * interface that notification matchers and receivers filter on: never rename one.
 */
export const notificationEvents = ['certificate-issued', 'renewal-failed', 'certificate-expiring', 'credentials-rejected', 'backend-down'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

export type Severity = 'info' | 'warning' | 'error';

/** One event about one object (a certificate id, a domain or a service name). */
export interface Notification {
  event: NotificationEvent;
  /** Certificate id, domain or service name the event is about. */
  object: string;
  /** Registered domain of the object, whose webhook receives the event; null for none. */
  domain: string | null;
  severity: Severity;
  /** Description of the event, in one or two sentences. */
  message: string;
  /** Next step for the administrator. */
  action: string;
}

const day = 86_400_000;

function describeTime(ms: number): string {
  if (ms >= day) return `${(ms / day).toFixed(1)} days`;
  return `${Math.max(0, ms / 3_600_000).toFixed(1)} hours`;
}

export function certificateIssued(certificate: StoredCertificate, renewal: boolean): Notification {
  return {
    event: 'certificate-issued',
    object: certificate.id,
    domain: certificate.domain,
    severity: 'info',
    message: `Certificate ${certificate.id} for ${certificate.names.join(', ')} was ${renewal ? 'renewed' : 'issued'} by ${certificate.directory}: serial ${certificate.serial}, valid until ${certificate.notAfter}.`,
    action: 'Nothing; the proxy already serves the new certificate.',
  };
}

export interface RenewalFailure {
  id: string;
  domain: string;
  failures: number;
  /** Last error, secrets removed. */
  error: string;
  /** ISO time of the next attempt, or null when none is planned. */
  nextAttemptAt: string | null;
  /** True when the error is one that waiting cannot heal. */
  blocked: boolean;
}

export function renewalFailed(failure: RenewalFailure): Notification {
  const next = failure.blocked
    ? 'No further order is sent until the settings of the domain change.'
    : `The next attempt is at ${failure.nextAttemptAt ?? 'the next renewal pass'}.`;
  return {
    event: 'renewal-failed',
    object: failure.id,
    domain: failure.domain,
    severity: 'error',
    message: `Ordering certificate ${failure.id} failed ${failure.failures} time(s) in a row: ${failure.error}. ${next}`,
    action: `Run "pve-domains get /certificates" for the last error of ${failure.id} and "pve-domains create /domains/${failure.domain}/verify" to check the Cloudflare credentials and the ACME account; fix the cause, then renew with "pve-domains create /certificates/${failure.id}/renew".`,
  };
}

export function certificateExpiring(certificate: StoredCertificate, leftMs: number, lastError: string | null): Notification {
  const renewal = lastError === null ? 'No renewal has failed yet, so the renewal may not have run.' : `Its renewal is failing: ${lastError}.`;
  return {
    event: 'certificate-expiring',
    object: certificate.id,
    domain: certificate.domain,
    severity: 'warning',
    message: `Certificate ${certificate.id} (${certificate.names.join(', ')}) expires at ${certificate.notAfter}, in ${describeTime(leftMs)}. ${renewal}`,
    action: `Check that pve-domainsd runs on the node holding the work lock ("pve-domains get /status"), look at "pve-domains get /certificates", and renew with "pve-domains create /certificates/${certificate.id}/renew".`,
  };
}

export function credentialsRejected(domain: string, error: string): Notification {
  return {
    event: 'credentials-rejected',
    object: domain,
    domain,
    severity: 'error',
    message: `Cloudflare rejected the credentials of domain ${domain}: ${error}. DNS records and certificates of the domain cannot be changed until this is fixed.`,
    action: `Create a new API token with Zone:Zone:Read and Zone:DNS:Edit on the zone in the Cloudflare dashboard, and store it with "pve-domains set /domains/${domain} --cloudflare-token-file <file>".`,
  };
}

export interface DownTarget {
  address: string;
  port: number;
  check: string | null;
}

export function backendDown(fqdn: string, domain: string | null, node: string, targets: DownTarget[]): Notification {
  const list = targets.map((target) => `${target.address}:${target.port}${target.check === null ? '' : ` (check ${target.check})`}`).join(', ');
  return {
    event: 'backend-down',
    object: fqdn,
    domain,
    severity: 'error',
    message: `Every target of https://${fqdn} is down in the HAProxy of node ${node}: ${list}. Requests get 503.`,
    action: `Check that the guest runs and listens on its port ("pve-domains get /services/${fqdn}" shows its targets), and the guest firewall accepts the proxy's addresses.`,
  };
}

/**
 * Mail subject, `pve-domains: <event> <object> on <node>`. The fixed prefix and the event name at
 * the second word let a notification matcher select one event by a regular expression on the title.
 */
export function mailSubject(notification: Notification, node: string): string {
  return `pve-domains: ${notification.event} ${notification.object} on ${node}`;
}

/** Plain-text body: the fields, then what happened and what to do. */
export function mailBody(notification: Notification, node: string, time: Date): string {
  return [
    `Event:    ${notification.event}`,
    `Object:   ${notification.object}`,
    `Domain:   ${notification.domain ?? '-'}`,
    `Node:     ${node}`,
    `Severity: ${notification.severity}`,
    `Time:     ${time.toISOString()}`,
    '',
    'What happened:',
    notification.message,
    '',
    'What to do:',
    notification.action,
    '',
    `-- pve-domainsd on ${node}`,
  ].join('\n');
}
