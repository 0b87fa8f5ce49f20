import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { withinValidityWindow } from './credentials.js';

function base64WithoutPadding(digest: Buffer): string {
  return digest.toString('base64').replace(/=+$/, '');
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Verifies `CSRFPreventionToken` headers as PVE does. The secret is base64 (without padding) of
 * HMAC-SHA256 over the contents of `/etc/pve/pve-www.key` with an empty key
 * (pve-access-control `AccessControl.pm`). A token is `<8 uppercase hex digits>:<signature>`, the
 * signature being base64 (without padding) of HMAC-SHA256 over `<timestamp>:<userid>` keyed
 * with that secret (pve-common `Ticket.pm`).
 */
export class CsrfVerifier {
  readonly #secret: string;

  constructor(wwwKey: string) {
    this.#secret = base64WithoutPadding(createHmac('sha256', '').update(wwwKey).digest());
  }

  /** Reads the www key file; the daemon runs as root and may read it on a PVE node. */
  static async fromFile(path: string): Promise<CsrfVerifier> {
    let wwwKey: string;
    try {
      wwwKey = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`Unable to read the CSRF key file ${path}: ${(err as Error).message}; set api.csrfKeyFile to PVE's pve-www.key`, { cause: err });
    }
    return new CsrfVerifier(wwwKey);
  }

  /**
   * Tells whether `token` is valid for `userid` at `nowSeconds`.
   * NOTE: PVE also accepts a legacy 27-character SHA-1 signature; this verifier rejects it, and PVE's
   * web UI has sent SHA-256 tokens for years.
   */
  verify(userid: string, token: string | undefined, nowSeconds: number): boolean {
    if (token === undefined) return false;
    const match = /^([A-Z0-9]{8}):(\S+)$/.exec(token);
    if (match === null) return false;
    const timestamp = match[1] ?? '';
    const signature = match[2] ?? '';
    const expected = base64WithoutPadding(createHmac('sha256', this.#secret).update(`${timestamp}:${userid}`).digest());
    if (!safeEqual(signature, expected)) return false;
    return withinValidityWindow(Number.parseInt(timestamp, 16), nowSeconds);
  }
}
