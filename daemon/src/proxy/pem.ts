import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

/**
 * Builds the PEM file HAProxy loads for one certificate (leaf, intermediates, then the private key)
 * from untrusted input. Every block is decoded and encoded again, so the result contains only
 * base64 lines and BEGIN/END markers and never an empty line. That matters because the runtime API
 * ends a `set ssl cert <<` payload at the first empty line and reads whatever follows as commands.
 */

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;
const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);

interface PemBlock {
  label: string;
  der: Buffer;
}

function splitPemBlocks(text: string, what: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let rest = text;
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [whole, label, body] = match;
    if (label === undefined || body === undefined) continue;
    blocks.push({ label, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') });
    rest = rest.replace(whole, '');
  }
  if (rest.trim() !== '') {
    throw new Error(`invalid ${what}: it contains text outside PEM blocks; pass only BEGIN/END blocks`);
  }
  return blocks;
}

function encodePem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join('\n');
}

function parseCertificates(chainPem: string): X509Certificate[] {
  const blocks = splitPemBlocks(chainPem, 'certificate chain');
  if (blocks.length === 0) {
    throw new Error('invalid certificate chain: no CERTIFICATE block found; pass the leaf certificate first');
  }
  return blocks.map((block, index) => {
    if (block.label !== 'CERTIFICATE') {
      throw new Error(`invalid certificate chain: block ${index + 1} is "${block.label}", expected CERTIFICATE`);
    }
    try {
      return new X509Certificate(block.der);
    } catch (err) {
      throw new Error(`invalid certificate chain: block ${index + 1} is not a valid X.509 certificate (${errorText(err)})`, {
        cause: err,
      });
    }
  });
}

function parsePrivateKey(keyPem: string): KeyObject {
  const blocks = splitPemBlocks(keyPem, 'private key');
  const [block] = blocks;
  if (blocks.length !== 1 || block === undefined) {
    throw new Error(`invalid private key: expected exactly one PEM block, found ${blocks.length}`);
  }
  if (!PRIVATE_KEY_LABELS.has(block.label)) {
    throw new Error(`invalid private key: block is "${block.label}", expected an unencrypted PRIVATE KEY`);
  }
  try {
    return createPrivateKey({ key: encodePem(block.label, block.der), format: 'pem' });
  } catch (err) {
    throw new Error(`invalid private key: ${errorText(err)}`, { cause: err });
  }
}

/**
 * Returns the PEM bundle for HAProxy. Throws if the chain or key cannot be parsed or if the key does
 * not belong to the leaf certificate (the first certificate of `chainPem`).
 */
export function buildCertificateBundle(chainPem: string, keyPem: string): string {
  const certificates = parseCertificates(chainPem);
  const key = parsePrivateKey(keyPem);
  const [leaf] = certificates;
  if (leaf === undefined || !leaf.checkPrivateKey(key)) {
    throw new Error('invalid certificate: the private key does not match the leaf certificate (the first block of the chain)');
  }
  const keyDer = key.export({ type: 'pkcs8', format: 'der' });
  const parts = [...certificates.map((certificate) => encodePem('CERTIFICATE', certificate.raw)), encodePem('PRIVATE KEY', keyDer)];
  return parts.join('\n') + '\n';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
