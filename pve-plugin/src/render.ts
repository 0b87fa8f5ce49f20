/**
 * Grid cell renderers. They return HTML, so every value from the API is encoded here. The
 * classes `good`, `warning` and `critical` are PVE's own status colours (ext6-pve.css), which
 * its dark theme redefines.
 */
import type { CertificateView, DomainView, ServiceCondition, ServiceView } from './api-types.js';

const encode = (value: string): string => Ext.String.htmlEncode(value);

function icon(classes: string, text: string, tooltip?: string): string {
  const tip = tooltip === undefined || tooltip === '' ? '' : ` data-qtip="${encode(encode(tooltip))}"`;
  return `<span${tip}><i class="fa fa-fw ${classes}"></i> ${encode(text)}</span>`;
}

/** Formats an ISO time in the browser's local time zone, as PVE's grids show dates. */
export function formatTime(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return Ext.Date.format(date, 'Y-m-d H:i:s');
}

/** Returns "in N days" / "N days ago" for an expiry time. */
export function relativeDays(value: string, now = Date.now()): string {
  const days = Math.round((new Date(value).getTime() - now) / 86_400_000);
  if (days >= 0) return Ext.String.format(gettext('in {0} days'), days);
  return Ext.String.format(gettext('{0} days ago'), -days);
}

/** Renders an expiry time with its distance, coloured when near. */
export function renderExpiry(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const days = (new Date(value).getTime() - Date.now()) / 86_400_000;
  const text = `${formatTime(value)} (${relativeDays(value)})`;
  if (days < 0) return icon('fa-times-circle critical', text);
  if (days < 14) return icon('fa-exclamation-triangle warning', text);
  return encode(text);
}

/** Renders a domain's verification state; the failing check's message is the tooltip. */
export function renderDomainStatus(domain: DomainView): string {
  if (domain.deleting) return icon('fa-trash-o', gettext('Removing'), gettext('The domain is removed once its services are gone.'));
  if (domain.ready === null) return icon('fa-question-circle', gettext('Not verified'), gettext('Run Verify to check Cloudflare and the CA.'));
  const checks = domain.verification?.checks ?? [];
  const failed = checks.filter((item) => item.status === 'fail' || item.status === 'skip');
  const warned = checks.filter((item) => item.status === 'warn');
  if (!domain.ready) return icon('fa-times-circle critical', gettext('Failed'), failed.map((item) => `${item.check}: ${item.message}`).join('\n'));
  if (warned.length > 0) return icon('fa-exclamation-triangle warning', gettext('Warning'), warned.map((item) => `${item.check}: ${item.message}`).join('\n'));
  return icon('fa-check-circle good', gettext('Ready'));
}

/** Renders the CA of a domain: the preset's title or the host of a custom directory. */
export function renderDirectory(domain: DomainView): string {
  const titles: Record<string, string> = {
    letsencrypt: "Let's Encrypt",
    'letsencrypt-staging': gettext("Let's Encrypt (Staging)"),
    zerossl: 'ZeroSSL',
  };
  const title = titles[domain['acme-directory-preset']];
  if (title !== undefined) return encode(title);
  try {
    return encode(new URL(domain['acme-directory']).host);
  } catch {
    return encode(domain['acme-directory']);
  }
}

const stepTitles = (): Record<string, string> => ({
  guest: gettext('Guest'),
  'guest-config': gettext('Guest firewall'),
  dns: gettext('DNS'),
  certificate: gettext('Certificate'),
  route: gettext('Route'),
});

/** Returns the translated title of a reconcile step. */
export function stepTitle(type: string): string {
  return stepTitles()[type] ?? type;
}

/** Renders one condition as an icon with its message as tooltip. */
export function renderCondition(condition: ServiceCondition | undefined, type: string): string {
  if (condition === undefined) return icon('fa-circle-o', stepTitle(type), gettext('Not started'));
  const tooltip = `${condition.reason}: ${condition.message}`;
  if (condition.status === 'true') return icon('fa-check good', stepTitle(type), tooltip);
  if (condition.status === 'false') return icon('fa-times critical', stepTitle(type), tooltip);
  return icon('fa-spinner fa-pulse', stepTitle(type), tooltip);
}

/** Steps of a service in the order the reconciler runs them. */
export const serviceSteps = ['guest', 'dns', 'certificate', 'route', 'guest-config'] as const;

/** Renders the summary status of a service, with the failing step's message as tooltip. */
export function renderServiceStatus(service: ServiceView): string {
  switch (service.status) {
    case 'active':
      return icon('fa-check-circle good', gettext('Active'));
    case 'deleting':
      return icon('fa-trash-o', gettext('Removing'));
    case 'error': {
      const failed = service.conditions.find((item) => item.status === 'false');
      const text = failed === undefined ? (service['last-error'] ?? '') : `${stepTitle(failed.type)}: ${failed.message}`;
      return icon('fa-times-circle critical', gettext('Error'), text);
    }
    default:
      return icon('fa-spinner fa-pulse', gettext('Pending'), service['last-error'] ?? '');
  }
}

/** Renders the steps of a service as a row of icons. */
export function renderServiceSteps(service: ServiceView): string {
  return serviceSteps.map((type) => renderCondition(service.conditions.find((item) => item.type === type), type)).join(' ');
}

/** Renders the backend health from HAProxy's live view. */
export function renderHealth(service: ServiceView): string {
  const servers = service.live?.servers ?? [];
  if (servers.length === 0) return icon('fa-question-circle', gettext('unknown'), gettext('The ingress reports no route for this service.'));
  const up = servers.filter((server) => server.state === 'up' || server.state === 'UP').length;
  const details = servers.map((server) => `${server.address}:${server.port} ${server.state}${server.check === null ? '' : ` (${server.check})`}`).join('\n');
  if (up === servers.length) return icon('fa-heartbeat good', Ext.String.format(gettext('{0} up'), up), details);
  return icon('fa-heartbeat critical', Ext.String.format(gettext('{0} of {1} up'), up, servers.length), details);
}

/** Renders the URL of a service as a link that opens in a new tab. */
export function renderServiceUrl(fqdn: string): string {
  const url = `https://${fqdn}/`;
  return `<a href="${encode(url)}" target="_blank" rel="noopener noreferrer">${encode(url)}</a>`;
}

/** Returns the display name of a service protocol, with TLS for a tcp service that terminates it. */
export function protocolText(service: Pick<ServiceView, 'protocol' | 'tls'>): string {
  const protocol = service.protocol ?? 'http';
  if (protocol === 'tcp') return service.tls ? gettext('TCP with TLS') : 'TCP';
  return protocol === 'udp' ? 'UDP' : 'HTTP';
}

/**
 * Renders where clients reach a service: the https link of an http service, or the name and
 * external port of a tcp or udp service, which a browser cannot open.
 */
export function renderServiceAddress(service: Pick<ServiceView, 'fqdn' | 'protocol' | 'external-port'>): string {
  if ((service.protocol ?? 'http') === 'http') return renderServiceUrl(service.fqdn);
  return encode(`${service.fqdn}:${service['external-port'] ?? '?'}`);
}

/** Returns the translated reason of a renewal time, from the daemon's renewal rule id. */
export function renewalRuleText(rule: string): string {
  const texts: Record<string, string> = {
    'ari-window': gettext('ARI window'),
    'one-third-remaining': gettext('lifetime rule: one third left'),
    'half-remaining': gettext('lifetime rule: half left'),
    backoff: gettext('retry after failure'),
    'rate-limit': gettext('CA rate limit'),
    expired: gettext('expired'),
    'resume-order': gettext('resuming an order'),
    blocked: gettext('blocked'),
  };
  return texts[rule] ?? rule;
}

/** Renders a certificate's next renewal with the rule that set it (ARI window or lifetime). */
export function renderRenewal(certificate: CertificateView): string {
  if (certificate['next-renewal'] === null) return '';
  const rule = certificate['renewal-rule'];
  const time = formatTime(certificate['next-renewal']);
  return encode(rule === null ? time : `${time} (${renewalRuleText(rule)})`);
}
