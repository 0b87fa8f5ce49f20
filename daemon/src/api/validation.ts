import { invalidParameter } from '../errors.js';
import { normaliseHostname } from '../names.js';

/** Canonical registered domain, or a 400 naming the parameter. */
export function parseDomainName(parameter: string, input: string): string {
  const result = normaliseHostname(input);
  if (!result.ok) throw invalidParameter(parameter, `${result.reason}; enter a domain such as example.com`);
  if (!result.name.includes('.')) throw invalidParameter(parameter, `"${input}" is a top-level domain; enter the registered domain, such as example.com`);
  return result.name;
}

/** Canonical subdomain part, or a 400 naming the parameter. */
export function parseSubdomain(parameter: string, input: string): string {
  const result = normaliseHostname(input);
  if (!result.ok) throw invalidParameter(parameter, `${result.reason}; enter the part before the domain, such as app`);
  return result.name;
}

/**
 * Parses an ACME directory URL. RFC 8555 section 6.1 requires HTTPS for every ACME request, so
 * plain HTTP is rejected.
 */
export function parseDirectoryUrl(parameter: string, input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw invalidParameter(parameter, `"${input}" is not a URL; enter the https URL of the CA's ACME directory`);
  }
  if (url.protocol !== 'https:') throw invalidParameter(parameter, `"${input}" does not use https; ACME directories are served over https only`);
  if (url.username !== '' || url.password !== '') throw invalidParameter(parameter, 'the URL may not contain a user name or password');
  return url.toString();
}

/** Parses the contact address of an ACME account. */
export function parseEmail(parameter: string, input: string): string {
  const trimmed = input.trim();
  const at = trimmed.lastIndexOf('@');
  const local = trimmed.slice(0, at);
  const domain = normaliseHostname(trimmed.slice(at + 1));
  if (at < 1 || !/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/.test(local) || !domain.ok || !domain.name.includes('.')) {
    throw invalidParameter(parameter, `"${input}" is not a valid e-mail address; enter an address such as admin@example.com`);
  }
  return `${local}@${domain.name}`;
}

/**
 * Parses and trims a Cloudflare API token. Tokens are 40 characters of letters, digits, `-` and
 * `_`, or carry a `cfut_`/`cfat_` prefix (Cloudflare token formats, 2026). A global API key (37 to
 * 45 hex characters, or `cfk_`) pasted here is rejected with a message that says so.
 */
export function parseCloudflareToken(parameter: string, input: string): string {
  const token = input.trim();
  if (token === '') throw invalidParameter(parameter, 'the token is empty; create an API token with Zone:Zone:Read and Zone:DNS:Edit in the Cloudflare dashboard');
  if (/^cfk_/.test(token) || /^[0-9a-f]{37,45}$/.test(token)) {
    throw invalidParameter(parameter, 'this looks like a Global API Key, not an API token; create an API token with Zone:Zone:Read and Zone:DNS:Edit instead');
  }
  if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) {
    throw invalidParameter(parameter, 'the token may contain only letters, digits, "-" and "_" (20 to 200 characters); copy it again from the Cloudflare dashboard');
  }
  return token;
}

/**
 * Parses and trims a Cloudflare Global API Key: 37 to 45 lower-case hex characters, or `cfk_`
 * followed by letters and digits (Cloudflare token formats, 2026). An API token pasted here is
 * rejected with a message that says so, because Cloudflare would answer 6003/6103.
 */
export function parseCloudflareGlobalKey(parameter: string, input: string): string {
  const key = input.trim();
  if (key === '') throw invalidParameter(parameter, 'the Global API Key is empty; copy it from My Profile > API Tokens in the Cloudflare dashboard, or use an API token instead');
  if (/^cf(ut|at)_/.test(key) || (/^[A-Za-z0-9_-]{40}$/.test(key) && !/^[0-9a-f]{40}$/.test(key))) {
    throw invalidParameter(parameter, 'this looks like an API token, not a Global API Key; enter it as cloudflare-token and leave cloudflare-global-key and cloudflare-email empty');
  }
  if (!/^[0-9a-f]{37,45}$/.test(key) && !/^cfk_[A-Za-z0-9]{40,}$/.test(key)) {
    throw invalidParameter(parameter, 'the Global API Key must be 37 to 45 lower-case hex characters or start with cfk_; copy it again from the Cloudflare dashboard');
  }
  return key;
}
