// @peculiar/x509 2 resolves its parsers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import acme from 'acme-client';
import { parseRetryAfter } from './problem.js';

/** RFC 9773 section 4.2: re-check the window after at most this long when no Retry-After came. */
const defaultRecheckMs = 6 * 3600_000;
/** Lower bound for the re-check interval, so that a CA sending Retry-After: 0 is not polled in a loop. */
const minimumRecheckMs = 1_000;

/** The suggested renewal window of one certificate (RFC 9773 section 4.2). */
export interface RenewalInfo {
  start: Date;
  end: Date;
  explanationUrl: string | null;
  /** When to ask again, from Retry-After. */
  checkAfter: Date;
}

function hexToBase64Url(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

/**
 * Builds the ARI certificate identifier: base64url of the Authority Key Identifier's
 * keyIdentifier, a dot, and base64url of the DER bytes of the serial number (RFC 9773 section 4.1).
 * Returns null when the certificate has no keyIdentifier.
 */
export function ariCertificateId(leafPem: string): string | null {
  const certificate = new x509.X509Certificate(leafPem);
  const aki = certificate.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (aki?.keyId === undefined) return null;
  let serial = certificate.serialNumber.toLowerCase();
  if (serial.length % 2 === 1) serial = `0${serial}`;
  // DER INTEGER is two's complement: a positive serial with the top bit set carries a 0x00 prefix.
  if (Number.parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
  return `${hexToBase64Url(aki.keyId)}.${hexToBase64Url(serial)}`;
}

/** Returns the renewalInfo URL of an ACME directory, or null when the CA does not offer ARI. */
export async function renewalInfoUrl(directoryUrl: string): Promise<string | null> {
  const response = await acme.axios.get<unknown>(directoryUrl, { timeout: 15_000 });
  if (response.status !== 200) throw new Error(`the ACME directory ${directoryUrl} returned HTTP ${response.status}`);
  const data = response.data;
  const url = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['renewalInfo'] : undefined;
  return typeof url === 'string' && url !== '' ? url : null;
}

/**
 * Fetches the suggested window of `certId` (an unauthenticated GET, RFC 9773 section 4.2).
 * Returns null when the CA does not know the certificate (404).
 */
export async function fetchRenewalInfo(baseUrl: string, certId: string, now = new Date()): Promise<RenewalInfo | null> {
  const url = `${baseUrl.replace(/\/$/, '')}/${certId}`;
  const response = await acme.axios.get<unknown>(url, { timeout: 15_000 });
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`renewalInfo ${url} returned HTTP ${response.status}`);
  // A body that is not a JSON object (null, text) has no window and fails the check below.
  const data = response.data;
  const body = (typeof data === 'object' && data !== null ? data : {}) as { suggestedWindow?: { start?: unknown; end?: unknown } | null; explanationURL?: unknown };
  const start = Date.parse(String(body.suggestedWindow?.start));
  const end = Date.parse(String(body.suggestedWindow?.end));
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) {
    throw new Error(`renewalInfo ${url} returned no valid suggestedWindow: ${JSON.stringify(response.data)}`);
  }
  const retryAfter = parseRetryAfter(response.headers['retry-after'], now);
  const recheck = retryAfter === null ? defaultRecheckMs : Math.max(minimumRecheckMs, retryAfter.getTime() - now.getTime());
  return {
    start: new Date(start),
    end: new Date(end),
    explanationUrl: typeof body.explanationURL === 'string' ? body.explanationURL : null,
    checkAfter: new Date(now.getTime() + recheck),
  };
}

/** Picks a uniformly random time inside the window (RFC 9773 section 4.2). */
export function pickRenewalTime(info: { start: Date; end: Date }, random: () => number = Math.random): Date {
  const span = info.end.getTime() - info.start.getTime();
  return new Date(info.start.getTime() + Math.floor(span * random()));
}
