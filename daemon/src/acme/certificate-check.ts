import { X509Certificate, createPrivateKey } from 'node:crypto';
import { AppError } from '../errors.js';

export interface CertificateFacts {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  names: string[];
}

/** Splits a PEM bundle into its certificates, in order. */
export function splitPemChain(chainPem: string): string[] {
  return chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** The DNS names of a certificate's subjectAltName extension. */
export function subjectAltNames(certificate: X509Certificate): string[] {
  const text = certificate.subjectAltName ?? '';
  return text
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

/** Reads serial, validity and names of the first certificate of `chainPem`. */
export function readCertificate(chainPem: string): CertificateFacts {
  const [leafPem] = splitPemChain(chainPem);
  if (leafPem === undefined) throw new AppError('CERTIFICATE_INVALID', 'The certificate bundle holds no PEM certificate');
  const leaf = new X509Certificate(leafPem);
  return { serial: leaf.serialNumber.toLowerCase(), notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), names: subjectAltNames(leaf) };
}

/**
 * Checks an issued certificate before it is installed: the chain parses and each certificate is
 * signed by the next, the key matches the leaf, the leaf names every requested name, and the
 * leaf is valid now. Throws CERTIFICATE_INVALID naming the first problem.
 */
export function verifyIssuedCertificate(chainPem: string, keyPem: string, names: string[], now = new Date()): CertificateFacts {
  const pems = splitPemChain(chainPem);
  if (pems.length === 0) throw new AppError('CERTIFICATE_INVALID', 'The CA returned no PEM certificate; the order is kept and retried');
  let chain: X509Certificate[];
  try {
    chain = pems.map((pem) => new X509Certificate(pem));
  } catch (err) {
    throw new AppError('CERTIFICATE_INVALID', `The certificate chain from the CA does not parse: ${(err as Error).message}`, { cause: err });
  }
  for (let index = 0; index + 1 < chain.length; index++) {
    const child = chain[index] as X509Certificate;
    const issuer = chain[index + 1] as X509Certificate;
    if (!child.verify(issuer.publicKey)) {
      throw new AppError('CERTIFICATE_INVALID', `The certificate chain from the CA is broken: "${child.subject}" is not signed by "${issuer.subject}"`);
    }
  }
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new AppError('CERTIFICATE_INVALID', `The certificate ${leaf.serialNumber} does not match the private key it was ordered with`);
  }
  const covered = subjectAltNames(leaf);
  const missing = names.filter((name) => !covered.includes(name));
  if (missing.length > 0) {
    throw new AppError('CERTIFICATE_INVALID', `The certificate ${leaf.serialNumber} does not name ${missing.join(', ')} (it names ${covered.join(', ')})`);
  }
  const facts = readCertificate(chainPem);
  if (facts.notBefore > now || facts.notAfter <= now) {
    throw new AppError('CERTIFICATE_INVALID', `The certificate ${leaf.serialNumber} is not valid now (valid from ${facts.notBefore.toISOString()} to ${facts.notAfter.toISOString()})`);
  }
  return facts;
}
