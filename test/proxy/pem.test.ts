import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';

import { createFallbackCertificate } from '../../daemon/src/proxy/fallback-certificate.js';
import { buildCertificateBundle } from '../../daemon/src/proxy/pem.js';
import { createTestCa, issueCertificate, type IssuedCertificate, type TestCa } from './fixtures.js';

let ca: TestCa;
let leaf: IssuedCertificate;

before(async () => {
  ca = await createTestCa();
  leaf = await issueCertificate(ca, ['app.test']);
});

describe('buildCertificateBundle', () => {
  it('orders chain then key', () => {
    const bundle = buildCertificateBundle(leaf.chainPem, leaf.keyPem);
    const labels = [...bundle.matchAll(/-----BEGIN ([A-Z ]+)-----/g)].map((match) => match[1]);
    assert.deepEqual(labels, ['CERTIFICATE', 'CERTIFICATE', 'PRIVATE KEY']);
  });

  it('contains no empty line', () => {
    const spaced = leaf.chainPem.replace(/\n/g, '\r\n\r\n') + '\n\n\n';
    const bundle = buildCertificateBundle(spaced, `\n\n${leaf.keyPem}\n\n`);
    assert.doesNotMatch(bundle.trimEnd(), /\n\n/);
    assert.doesNotMatch(bundle, /\r/);
  });

  it('keeps the leaf serial', () => {
    const bundle = buildCertificateBundle(leaf.chainPem, leaf.keyPem);
    assert.equal(new X509Certificate(bundle).serialNumber.toUpperCase(), leaf.serial);
  });

  it('rejects a mismatched key', async () => {
    const other = await issueCertificate(ca, ['app.test']);
    assert.throws(() => buildCertificateBundle(leaf.chainPem, other.keyPem), /does not match the leaf/);
  });

  it('rejects text outside blocks', () => {
    assert.throws(() => buildCertificateBundle(`${leaf.chainPem}\nshow info\n`, leaf.keyPem), /text outside PEM blocks/);
  });

  it('rejects an empty chain', () => {
    assert.throws(() => buildCertificateBundle('', leaf.keyPem), /no CERTIFICATE block/);
  });

  it('rejects a key in the chain', () => {
    assert.throws(() => buildCertificateBundle(leaf.keyPem, leaf.keyPem), /expected CERTIFICATE/);
  });

  it('rejects an encrypted key', () => {
    const encrypted = leaf.keyPem.replaceAll('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY');
    assert.throws(() => buildCertificateBundle(leaf.chainPem, encrypted), /unencrypted PRIVATE KEY/);
  });

  it('rejects a corrupt certificate', () => {
    const corrupt = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assert.throws(() => buildCertificateBundle(corrupt, leaf.keyPem), /not a valid X\.509 certificate/);
  });
});

describe('createFallbackCertificate', () => {
  it('makes a P-256 certificate for invalid', async () => {
    const bundle = await createFallbackCertificate();
    const certificate = new X509Certificate(bundle);
    assert.equal(certificate.subject, 'CN=invalid');
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(bundle, /-----BEGIN PRIVATE KEY-----/);
  });
});
