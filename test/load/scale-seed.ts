import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BasicConstraintsExtension, ExtendedKeyUsageExtension, SubjectAlternativeNameExtension, X509CertificateGenerator } from '@peculiar/x509';

import { ownershipComment } from '../../daemon/src/names.js';
import { CertificateFiles } from '../../daemon/src/store/certificate-files.js';
import type { CertificateLifecycle, Condition, StoredCertificate, StoredDomain, StoredService } from '../../daemon/src/store/model.js';
import { SecretStore } from '../../daemon/src/store/secret-store.js';
import { StateStore } from '../../daemon/src/store/state-store.js';
import { createTestCa } from '../proxy/fixtures.js';
import type { Sandbox } from '../sandbox/sandbox.js';

/**
 * Seeds a sandbox with many domains and services before its daemon starts, as if a daemon had
 * already converged them. The state files are written through StateStore and the certificate
 * files through CertificateFiles. The Cloudflare simulator gets each domain's zone and A records,
 * and every domain gets a wildcard certificate. A restarted daemon then finds its DNS records
 * and certificates in place and only has to rebuild the routes.
 *
 * Certificates: one `example` + `*.example` certificate per domain (wildcard mode), signed by a
 * throw-away CA. All of them share one EC P-256 key, because generating 1,000 keys would measure
 * the generator and not the daemon, and the daemon reads each key file separately anyway.
 */

export interface ScaleCounts {
  domains: number;
  services: number;
}

export interface SeedResult {
  /** Registered domain names, such as `scale0001.example`. */
  domains: string[];
  /** Service FQDNs, spread over the domains round-robin. */
  services: string[];
  seedMs: number;
}

const crypto = webcrypto;
const ecAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' };

/** Domain names under the `.example` top-level domain, which RFC 2606 reserves. */
export function scaleDomainName(index: number): string {
  return `scale${String(index + 1).padStart(4, '0')}.example`;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN PRIVATE KEY-----', ...lines, '-----END PRIVATE KEY-----', ''].join('\n');
}

function conditionsOf(fqdn: string, address: string, port: number, certificateId: string, notAfter: string, time: string): Condition[] {
  return [
    { type: 'guest', status: 'true', reason: 'Resolved', message: `guest 101 runs at ${address}`, time },
    { type: 'dns', status: 'true', reason: 'RecordsPresent', message: `${fqdn} points at 127.0.0.1 in zone ${fqdn.split('.').slice(1).join('.')}`, time },
    { type: 'certificate', status: 'true', reason: 'Issued', message: `certificate ${certificateId}, valid until ${notAfter}`, time },
    { type: 'route', status: 'true', reason: 'Routed', message: `https://${fqdn} is routed to ${address}:${port}`, time },
  ];
}

/**
 * Writes `counts` domains and services into the sandbox's state folder, secrets and Cloudflare
 * simulator. Call it before `startDaemon`. Every service routes to the sandbox's first container.
 */
export async function seedScaleState(sandbox: Sandbox, counts: ScaleCounts): Promise<SeedResult> {
  const startedAt = performance.now();
  const container = sandbox.containers[0];
  if (container === undefined) throw new Error('the sandbox has no container to route the seeded services to');
  const config = JSON.parse(await readFile(sandbox.configFile, 'utf8')) as { stateDir: string; secretsDir: string; clusterName: string };

  // Cloudflare-style API token: 40 characters of letters, digits, `-` and `_`.
  const token = randomBytes(30).toString('base64url');
  const domains = Array.from({ length: counts.domains }, (_, index) => scaleDomainName(index));

  const secrets = new SecretStore(config.secretsDir);
  const files = new CertificateFiles(config.stateDir, secrets);
  const ca = await createTestCa();
  const keys = await crypto.subtle.generateKey(ecAlgorithm, true, ['sign', 'verify']);
  const keyPem = await exportKeyPem(keys.privateKey);
  const now = new Date();
  const time = now.toISOString();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 60 * 86_400_000);

  const storedDomains: StoredDomain[] = [];
  const certificates: StoredCertificate[] = [];
  const lifecycles: CertificateLifecycle[] = [];
  for (const [index, name] of domains.entries()) {
    sandbox.cloudflare.addZone(name);
    await secrets.write('cloudflare', name, JSON.stringify({ kind: 'token', token }));
    storedDomains.push({
      name,
      acmeDirectory: sandbox.acmeDirectoryUrl,
      acmeEmail: `admin@${name}`,
      createdAt: time,
      certificateMode: 'wildcard',
      keyType: 'ecdsa-p256',
      cloudflareAuth: 'api-token',
      cloudflareSecretHint: token.slice(-4),
      verification: { ready: true, zone: name, checkedAt: time, checks: [{ check: 'credentials', status: 'pass', message: 'the token is active' }, { check: 'zone', status: 'pass', message: `zone ${name} found` }] },
    });

    const id = `*.${name}`;
    const serial = (0x100000 + index).toString(16).padStart(24, '1');
    const leaf = await X509CertificateGenerator.create(
      {
        serialNumber: serial,
        subject: `CN=${name}`,
        issuer: ca.certificate.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: ca.keys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [
          new SubjectAlternativeNameExtension([{ type: 'dns', value: name }, { type: 'dns', value: id }]),
          new BasicConstraintsExtension(false, undefined, true),
          new ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1']),
        ],
      },
      crypto,
    );
    await files.save(id, { chainPem: `${leaf.toString('pem')}\n${ca.pem}\n`, keyPem });
    certificates.push({ id, domain: name, names: [name, id], serial, notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString(), issuedAt: time, directory: sandbox.acmeDirectoryUrl, keyType: 'ecdsa-p256', mode: 'wildcard' });
    const renewAt = new Date(notAfter.getTime() - 20 * 86_400_000).toISOString();
    lifecycles.push({ id, domain: name, names: [name, id], failures: 0, lastError: null, lastErrorAt: null, nextAttemptAt: null, blocked: false, configFingerprint: 'seeded', pendingOrder: null, ari: null, renewAt, renewRule: 'lifetime', issuerIndex: 0, warning: null, warnedAt: null });
  }

  sandbox.cloudflare.addToken(token, { zones: domains, permissions: ['zone:read', 'dns_records:read', 'dns_records:edit'] });
  const services: StoredService[] = [];
  for (let index = 0; index < counts.services; index++) {
    const domain = domains[index % domains.length] ?? '';
    const subdomain = `svc${index + 1}`;
    const fqdn = `${subdomain}.${domain}`;
    sandbox.cloudflare.addRecord(domain, { type: 'A', name: fqdn, content: '127.0.0.1', ttl: 1, proxied: false, comment: ownershipComment(config.clusterName, 'service', fqdn) });
    services.push({
      fqdn,
      subdomain,
      domain,
      vmid: container.vmid,
      port: container.port,
      createdAt: time,
      deleting: false,
      conditions: conditionsOf(fqdn, container.address, container.port, `*.${domain}`, notAfter.toISOString(), time),
      observed: { target: { address: container.address, port: container.port }, targets: [{ vmid: container.vmid, port: container.port, node: 'pve1', address: container.address, guest: 'running' }] },
      retry: { failures: 0, nextAttemptAt: null, lastError: null },
    });
  }

  const store = await StateStore.open(config.stateDir);
  await store.update((state) => {
    state.domains.push(...storedDomains);
    state.services.push(...services);
    state.certificates.push(...certificates);
    state.certificateLifecycles = [...(state.certificateLifecycles ?? []), ...lifecycles];
  });
  return { domains, services: services.map((service) => service.fqdn), seedMs: performance.now() - startedAt };
}

