import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { readCertificate, verifyIssuedCertificate } from '../../daemon/src/acme/certificate-check.js';

const run = promisify(execFile);

interface Issued {
  chain: string;
  key: string;
  otherKey: string;
}

/** Issues a leaf for `names` from a fresh CA with openssl; the chain is leaf then CA. */
async function issue(dir: string, names: string[], days = 30): Promise<Issued> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '30', '-subj', '/CN=test CA']);
  await run('openssl', ['req', ...ec, '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.csr'), '-subj', `/CN=${names[0] ?? 'x'}`]);
  await run('openssl', ['req', ...ec, '-keyout', join(dir, 'other.key'), '-out', join(dir, 'other.csr'), '-subj', '/CN=other']);
  await writeFile(join(dir, 'ext'), `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}\n`);
  await run('openssl', ['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'leaf.pem'), '-days', String(days), '-extfile', join(dir, 'ext')]);
  const chain = (await readFile(join(dir, 'leaf.pem'), 'utf8')) + (await readFile(join(dir, 'ca.pem'), 'utf8'));
  return { chain, key: await readFile(join(dir, 'leaf.key'), 'utf8'), otherKey: await readFile(join(dir, 'other.key'), 'utf8') };
}

describe('verifyIssuedCertificate', () => {
  let dir: string;
  let issued: Issued;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pve-domains-cert-'));
    issued = await issue(dir, ['app.example.com']);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a matching certificate', () => {
    const facts = verifyIssuedCertificate(issued.chain, issued.key, ['app.example.com']);
    assert.deepEqual(facts.names, ['app.example.com']);
    assert.match(facts.serial, /^[0-9a-f]+$/);
  });

  it('rejects a foreign key', () => {
    assert.throws(() => verifyIssuedCertificate(issued.chain, issued.otherKey, ['app.example.com']), /does not match the private key/);
  });

  it('rejects a missing name', () => {
    assert.throws(() => verifyIssuedCertificate(issued.chain, issued.key, ['app.example.com', 'www.example.com']), /does not name www\.example\.com/);
  });

  it('rejects an empty bundle', () => {
    assert.throws(() => verifyIssuedCertificate('', issued.key, ['app.example.com']), /no PEM certificate/);
  });

  it('rejects a broken chain', () => {
    const [leaf] = issued.chain.split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.throws(() => verifyIssuedCertificate(`${leaf ?? ''}${leaf ?? ''}`, issued.key, ['app.example.com']), /chain from the CA is broken/);
  });

  it('rejects a certificate not valid yet', () => {
    assert.throws(() => verifyIssuedCertificate(issued.chain, issued.key, ['app.example.com'], new Date(Date.now() - 86_400_000)), /is not valid now/);
  });

  it('reads serial and dates', () => {
    const facts = readCertificate(issued.chain);
    assert.ok(facts.notAfter.getTime() - facts.notBefore.getTime() >= 29 * 86_400_000);
  });
});
