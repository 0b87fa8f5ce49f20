import { invalidParameter } from '../errors.js';

/** External Account Binding credentials (RFC 8555 section 7.3.4), as the CA hands them out. */
export interface EabCredentials {
  keyId: string;
  /** The MAC key, base64url without padding. */
  hmacKey: string;
}

/** Shortest MAC key accepted: 128 bits. CAs hand out 256-bit or longer keys. */
const minimumKeyBytes = 16;

/**
 * Parses an EAB key id and HMAC key. The key is accepted in base64url (as RFC 8555 and most CAs
 * write it) or in standard base64 with padding, and stored as base64url without padding.
 * Whitespace pasted around either value is removed.
 */
export function parseEab(keyIdParameter: string, hmacParameter: string, keyIdInput: string, hmacInput: string): EabCredentials {
  const keyId = keyIdInput.trim();
  const hmac = hmacInput.trim();
  if (keyId === '') throw invalidParameter(keyIdParameter, 'the EAB key id is empty; copy it from the CA account page');
  if (!/^[\x21-\x7e]{1,200}$/.test(keyId)) throw invalidParameter(keyIdParameter, 'the EAB key id may contain only printable ASCII characters (1 to 200); copy it again from the CA account page');
  if (hmac === '') throw invalidParameter(hmacParameter, 'the EAB HMAC key is empty; copy it from the CA account page');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(hmac) || (/[+/]/.test(hmac) && /[-_]/.test(hmac))) {
    throw invalidParameter(hmacParameter, 'the EAB HMAC key is not base64 or base64url; copy it again from the CA account page');
  }
  const bytes = Buffer.from(hmac.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  if (bytes.length < minimumKeyBytes) {
    throw invalidParameter(hmacParameter, `the EAB HMAC key decodes to ${bytes.length} bytes, fewer than ${minimumKeyBytes}; check that the key id and the HMAC key are not swapped`);
  }
  return { keyId, hmacKey: bytes.toString('base64url') };
}
