// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';

import { BasicConstraintsExtension, X509CertificateGenerator } from '@peculiar/x509';

import { buildCertificateBundle } from './pem.js';

/** Subject of the fallback certificate; `invalid` is a reserved name (RFC 6761) that matches no real host. */
export const FALLBACK_COMMON_NAME = 'invalid';

const VALIDITY_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates the self-signed ECDSA P-256 certificate that HAProxy serves when the SNI matches no
 * certificate. HAProxy refuses a TLS bind without a certificate, so the crt-list always starts with
 * it. Returns the PEM bundle (certificate, then key).
 */
export async function createFallbackCertificate(now = new Date()): Promise<string> {
  const crypto = webcrypto;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);

  // A leading byte below 0x80 keeps the DER integer positive, as RFC 5280 requires for serials.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;

  const certificate = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: `CN=${FALLBACK_COMMON_NAME}`,
      notBefore: now,
      notAfter: new Date(now.getTime() + VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  );

  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  return buildCertificateBundle(certificate.toString('pem'), keyPem);
}
