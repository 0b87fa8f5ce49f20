import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { challengeRecordName, ownershipComment } from '../names.js';
import type { DnsProvider, DnsZone } from '../dns/provider.js';
import { waitForTxtRecord, type PropagationSettings } from '../dns/propagation.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import type { StoredDomain } from '../store/model.js';
import { verifyIssuedCertificate, type CertificateFacts } from './certificate-check.js';

export interface AcmeSettings {
  clusterName: string;
  /** Extra CA for the directory's TLS certificate (a private CA), or null. */
  caFile: string | null;
  pollMinMs: number;
  pollMaxMs: number;
  propagation: PropagationSettings;
  logger: Logger;
}

export interface IssuedCertificate extends CertificateFacts {
  chainPem: string;
  keyPem: string;
}

/** Settings acme-client reads from its shared axios instance; not part of its typings. */
interface AcmeAxiosSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}

/** Time allowed for removing the challenge records after an order, success or not. */
const cleanupTimeoutMs = 30_000;
/** TTL of challenge TXT records, the lowest Cloudflare accepts on every plan (60 s). */
const challengeTtl = 60;

function accountSecretName(directory: string, email: string): string {
  return createHash('sha256').update(`${directory}\n${email}`).digest('hex').slice(0, 32);
}

/**
 * acme-client reports a TLS failure or a refused connection as "TypeError: Cannot read
 * properties of undefined (reading 'config')" after its retries (acme-client 5.4.0).
 */
function translateAcmeError(err: unknown, directory: string, action: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof TypeError && /reading 'config'/.test(err.message)) {
    return new AppError('CA_UNREACHABLE', `Unable to ${action}: the ACME directory ${directory} is unreachable or its TLS certificate is not trusted; check the URL and the node's network`, { cause: err });
  }
  return new AppError('ACME_FAILED', `Unable to ${action} at ${directory}: ${(err as Error).message}`, { cause: err });
}

interface PublishedChallenge {
  zone: DnsZone;
  recordId: string;
  recordName: string;
  value: string;
  challenge: Parameters<acme.Client['completeChallenge']>[0];
}

/** Obtains certificates from an RFC 8555 CA with the DNS-01 challenge. */
export class AcmeIssuer {
  private readonly logger: Logger;

  constructor(
    private readonly settings: AcmeSettings,
    private readonly state: StateStore,
    private readonly secrets: SecretStore,
  ) {
    this.logger = settings.logger.child({ subsystem: 'acme' });
    // acme-client sends every request through one shared axios instance.
    if (settings.caFile !== null) {
      const ca = [...rootCertificates, readFileSync(settings.caFile, 'utf8')];
      acme.axios.defaults.httpsAgent = new HttpsAgent({ ca });
    }
    const axiosSettings = (acme.axios.defaults as unknown as { acmeSettings: AcmeAxiosSettings }).acmeSettings;
    axiosSettings.retryMaxAttempts = 2;
    axiosSettings.retryDefaultDelay = 2;
  }

  /** Issues one certificate for `names` (all within `domain`), verified before it is returned. */
  async issue(domain: StoredDomain, dns: DnsProvider, names: string[], signal?: AbortSignal): Promise<IssuedCertificate> {
    const directory = domain.acmeDirectory;
    const client = await this.accountClient(domain);
    const log = this.logger.child({ domain: domain.name, names });

    // Order and authorizations.
    let order;
    let authorizations;
    try {
      order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
      authorizations = await client.getAuthorizations(order);
    } catch (err) {
      throw translateAcmeError(err, directory, `create an order for ${names.join(', ')}`);
    }
    log.info({ order_url: order.url }, 'acme order created');

    const published: PublishedChallenge[] = [];
    try {
      // Publish every TXT value first: an apex and its wildcard share one record name, and both
      // values must be present together.
      for (const authorization of authorizations) {
        if (authorization.status === 'valid') continue;
        const challenge = authorization.challenges.find((item) => item.type === 'dns-01');
        if (challenge === undefined) {
          throw new AppError('ACME_FAILED', `The CA offers no dns-01 challenge for ${authorization.identifier.value}; choose a CA that supports DNS-01`, { retryable: false });
        }
        const identifier = authorization.wildcard === true ? `*.${authorization.identifier.value}` : authorization.identifier.value;
        const recordName = challengeRecordName(identifier);
        const value = await client.getChallengeKeyAuthorization(challenge);
        const zone = await dns.findZone(recordName, domain.name, signal);
        const record = await dns.createRecord(
          zone,
          { type: 'TXT', name: recordName, content: value, ttl: challengeTtl, comment: ownershipComment(this.settings.clusterName, 'acme', identifier) },
          signal,
        );
        published.push({ zone, recordId: record.id, recordName, value, challenge });
      }

      // Wait until the authoritative servers answer every value, then let the CA validate.
      for (const item of published) {
        await waitForTxtRecord(item.zone, item.recordName, item.value, this.settings.propagation, signal);
      }
      for (const item of published) {
        try {
          await client.completeChallenge(item.challenge);
          await client.waitForValidStatus(item.challenge);
        } catch (err) {
          throw translateAcmeError(err, directory, `validate the dns-01 challenge of ${item.recordName}`);
        }
      }
      log.info({ challenges: published.length }, 'acme challenges valid');
    } finally {
      await this.removeChallenges(dns, published, log);
    }

    // Finalize with a fresh key and download the chain.
    const keyPem = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    let chainPem: string;
    try {
      const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, keyPem);
      const finalized = await client.finalizeOrder(order, csr);
      chainPem = await client.getCertificate(finalized);
    } catch (err) {
      throw translateAcmeError(err, directory, `finalize the order for ${names.join(', ')}`);
    }
    const facts = verifyIssuedCertificate(chainPem, keyPem, names);
    log.info({ serial: facts.serial, not_after: facts.notAfter.toISOString() }, 'certificate issued');
    return { ...facts, chainPem, keyPem };
  }

  /** Removes the challenge records, each by its own id, with a timeout of its own. */
  private async removeChallenges(dns: DnsProvider, published: PublishedChallenge[], log: Logger): Promise<void> {
    for (const item of published) {
      try {
        await dns.deleteRecord(item.zone, item.recordId, AbortSignal.timeout(cleanupTimeoutMs));
      } catch (err) {
        log.error({ err, record_id: item.recordId, record_name: item.recordName }, 'unable to remove an acme challenge record');
      }
    }
  }

  /** Returns a client bound to the account of the domain's directory and email, creating it when new. */
  private async accountClient(domain: StoredDomain): Promise<acme.Client> {
    const secretName = accountSecretName(domain.acmeDirectory, domain.acmeEmail);
    let accountKey = await this.secrets.read('acme-account', secretName);
    if (accountKey === null) {
      accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      await this.secrets.write('acme-account', secretName, accountKey);
    }
    const client = new acme.Client({
      directoryUrl: domain.acmeDirectory,
      accountKey,
      backoffAttempts: 12,
      backoffMin: this.settings.pollMinMs,
      backoffMax: this.settings.pollMaxMs,
    });
    try {
      // Sending the contact with the terms flag returns the existing account for a known key
      // (RFC 8555 section 7.3.1) and registers a new one otherwise.
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${domain.acmeEmail}`] });
    } catch (err) {
      throw translateAcmeError(err, domain.acmeDirectory, `register the ACME account of ${domain.acmeEmail}`);
    }
    const url = client.getAccountUrl();
    await this.state.update((state) => {
      const known = state.acmeAccounts.find((item) => item.directory === domain.acmeDirectory && item.email === domain.acmeEmail);
      if (known === undefined) state.acmeAccounts.push({ directory: domain.acmeDirectory, email: domain.acmeEmail, url });
      else known.url = url;
    });
    return client;
  }
}
