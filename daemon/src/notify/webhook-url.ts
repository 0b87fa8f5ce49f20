import { invalidParameter } from '../errors.js';

/** Maximum length of a webhook URL, in characters. */
const maxLength = 2000;

/**
 * Validates the `notify-webhook` field of a domain: an absolute https URL without user name,
 * password or fragment. Returns the normalised URL, or null for an empty string (no webhook).
 * A token for the receiver belongs in the path or query, which is never logged.
 */
export function parseWebhookUrl(input: string, field = 'notify-webhook'): string | null {
  const text = input.trim();
  if (text === '') return null;
  if (text.length > maxLength) throw invalidParameter(field, `the URL is longer than ${maxLength} characters; use a shorter webhook URL`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidParameter(field, `"${text.slice(0, 80)}" is not an absolute URL; enter the receiver's https URL, such as https://hooks.example.com/pve-domains`);
  }
  if (url.protocol !== 'https:') throw invalidParameter(field, `the URL uses ${url.protocol.replace(/:$/, '')}; only https URLs are accepted, because the body names your services`);
  if (url.hostname === '') throw invalidParameter(field, 'the URL has no host name; enter the receiver\'s https URL');
  if (url.username !== '' || url.password !== '') throw invalidParameter(field, 'the URL contains a user name or password; put the receiver\'s token in the path or query instead');
  if (url.hash !== '') throw invalidParameter(field, 'the URL contains a fragment (#...), which is never sent to the receiver; remove it');
  return url.href;
}

/** Returns the URL without path and query, for log lines, because a receiver's token often sits in the path. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Returns the URL as the API shows it: the origin, followed by `/…` when there is more. A
 * receiver's token often sits in the path or query, and reading a domain needs only Sys.Audit.
 */
export function maskWebhookUrl(url: string): string {
  const origin = webhookOrigin(url);
  try {
    const parsed = new URL(url);
    return parsed.pathname === '/' && parsed.search === '' ? origin : `${origin}/…`;
  } catch {
    return origin;
  }
}
