import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Ticket and CSRF token validity window in seconds: age must lie in (-300, 7200) (pve-access-control `AccessControl.pm`). */
export const TICKET_LIFETIME_S = 7200;
export const AUTH_GRACE_PERIOD_S = 300;

/**
 * Derives the CSRF secret from the contents of `/etc/pve/pve-www.key` as pve-access-control
 * `AccessControl.pm` does: base64 (without padding) of HMAC-SHA256 over the file with an empty key.
 */
export function csrfSecretOf(wwwKey: string): string {
  return createHmac('sha256', '').update(wwwKey).digest('base64').replace(/=+$/, '');
}

/**
 * Issues and verifies tickets shaped like PVE's, `PVE:<userid>:<8 hex digits>::<base64 signature>`.
 * PVE signs with an RSA key. The simulator signs with HMAC-SHA256 under a key made at start, so
 * tickets of one simulator instance are invalid on another. CSRF tokens are made exactly as PVE
 * makes them from the www key, so a daemon that reads the same key file can verify them.
 */
export class TicketAuthority {
  readonly #ticketKey = randomBytes(32);
  readonly #csrfSecret: string;
  readonly #now: () => number;

  constructor(now: () => number, wwwKey: string) {
    this.#now = now;
    this.#csrfSecret = csrfSecretOf(wwwKey);
  }

  issueTicket(userid: string): string {
    const plain = `PVE:${userid.replace(/:/g, '%3A')}:${hexTimestamp(this.#nowSeconds())}`;
    return `${plain}::${this.#sign(this.#ticketKey, plain, true)}`;
  }

  /** Returns the user id of a valid, unexpired ticket, else undefined. */
  verifyTicket(ticket: string): string | undefined {
    const match = /^(PVE:([^:]+):([0-9A-F]{8}))::(\S+)$/.exec(ticket);
    if (match === null) return undefined;
    const [, plain = '', escapedUser = '', hexTime = '', signature = ''] = match;
    if (!safeEqual(signature, this.#sign(this.#ticketKey, plain, true))) return undefined;
    if (!this.#withinWindow(hexTime)) return undefined;
    return decodeURIComponent(escapedUser);
  }

  /** CSRF token `<8 hex digits>:<base64 HMAC-SHA256 of "<time>:<userid>" without padding>` (pve-common `Ticket.pm`). */
  issueCsrfToken(userid: string): string {
    const timestamp = hexTimestamp(this.#nowSeconds());
    return `${timestamp}:${this.#sign(this.#csrfSecret, `${timestamp}:${userid}`, false)}`;
  }

  verifyCsrfToken(userid: string, token: string | undefined): boolean {
    if (token === undefined) return false;
    const match = /^([A-Z0-9]{8}):(\S+)$/.exec(token);
    if (match === null) return false;
    const [, timestamp = '', signature = ''] = match;
    if (!safeEqual(signature, this.#sign(this.#csrfSecret, `${timestamp}:${userid}`, false))) return false;
    return this.#withinWindow(timestamp);
  }

  #withinWindow(hexTime: string): boolean {
    const age = this.#nowSeconds() - Number.parseInt(hexTime, 16);
    return age > -AUTH_GRACE_PERIOD_S && age < TICKET_LIFETIME_S;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #sign(key: Buffer | string, data: string, padded: boolean): string {
    const digest = createHmac('sha256', key).update(data).digest('base64');
    return padded ? digest : digest.replace(/=+$/, '');
  }
}

function hexTimestamp(seconds: number): string {
  return seconds.toString(16).toUpperCase().padStart(8, '0');
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Reads `<key>=<value>` or `<key> <value>` from a Cookie or Authorization header and
 * percent-decodes the value, as pve-http-server `Formatter.pm` `extract_auth_value` does.
 */
export function extractAuthValue(header: string | undefined, key: string): string | undefined {
  if (header === undefined) return undefined;
  const escapedKey = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const value = new RegExp(`(?:^|\\s)${escapedKey}(?:=| )([^;]*)`).exec(header)?.[1];
  if (value === undefined || value === '') return undefined;
  return percentDecode(value);
}

/** Decodes `%XX` sequences only; a `+` stays a plus sign. */
function percentDecode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] ?? ''));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
