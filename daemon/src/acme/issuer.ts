import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { challengeRecordName, ownershipComment } from '../names.js';
import type { DnsProvider } from '../dns/provider.js';
import { waitForTxtRecord, type PropagationSettings } from '../dns/propagation.js';
import type { SecretStore } from '../store/secret-store.js';
import type { StateStore } from '../store/state-store.js';
import type { KeyType, PendingOrder, StoredDomain } from '../store/model.js';
import { accountKeyName, eabSecretName } from '../domains/acme-account.js';
import { verifyIssuedCertificate, type CertificateFacts } from './certificate-check.js';
import { challengeTarget, publishChallenge, removeChallenges, removeOrphanChallenges, type PublishedChallenge } from './challenge-records.js';
import { createCertificateKey } from './key-types.js';
import { installProblemCapture, translateCaError, withCaExchange, type CaExchange } from './problem.js';

export interface AcmeSettings {
  clusterName: string;
  /** Extra CA for the directory's TLS certificate (a private CA), or null. */
  caFile: string | null;
  pollMinMs: number;
  pollMaxMs: number;
  /** Time after which one request to the CA is abandoned; 30 s when absent. */
  requestTimeoutMs?: number;
  propagation: PropagationSettings;
  logger: Logger;
}

export interface IssuedCertificate extends CertificateFacts {
  chainPem: string;
  keyPem: string;
}

/** One order, as the certificate manager requests it. */
export interface OrderRequest {
  certificateId: string;
  /** Registered domain (Cloudflare zone) of every name. */
  registeredDomain: string;
  directory: string;
  email: string;
  names: string[];
  keyType: KeyType;
  /** ARI identifier of the certificate being replaced, or null. */
  replaces: string | null;
  /** The unfinished order of an earlier run, resumed when it matches. */
  resume: PendingOrder | null;
  /** Persists a new order before any challenge is published, so that a restart resumes it. */
  onOrderCreated(order: PendingOrder): Promise<void>;
}

/** Settings acme-client reads from its shared axios instance; not part of its typings. */
interface AcmeAxiosSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}

type AcmeOrder = Awaited<ReturnType<acme.Client['createOrder']>>;

/** Upper bound of status polls of an order in `processing`. */
const maxProcessingPolls = 60;
/** Longest Retry-After honoured within one pass; a longer one ends the pass and resumes later. */
const maxInlineRetryAfterMs = 10 * 60_000;

/** The ACME settings a domain sets for one of its issuers. */
interface IssuerSettings {
  /** ACME profile for new orders; only the primary issuer has one. */
  profile: string | null;
  /** EAB key id and HMAC key (base64url), used when the account is registered. */
  eab: { kid: string; hmacKey: string } | null;
}

/** Waits `ms` and then removes its abort listener, because `signal` may live as long as the daemon. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Obtains certificates from an RFC 8555 CA with the DNS-01 challenge. */
export class AcmeIssuer {
  private readonly logger: Logger;
  /** Comments of the challenge records of orders running in this process. */
  private readonly runningComments = new Set<string>();

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
    // acme-client's own HTTP retries would re-send a signed request with a used nonce and sleep
    // through any Retry-After inside one call; the certificate manager schedules retries instead.
    const axiosSettings = (acme.axios.defaults as unknown as { acmeSettings: AcmeAxiosSettings }).acmeSettings;
    axiosSettings.retryMaxAttempts = 0;
    axiosSettings.retryDefaultDelay = 1;
    // axios waits forever by default, and a CA that accepts the connection but never responds
    // would hold the order, and with it every later pass of the reconciler.
    acme.axios.defaults.timeout = settings.requestTimeoutMs ?? 30_000;
    installProblemCapture();
  }

  /** The challenge comment of one identifier, as written on its TXT record. */
  challengeComment(identifier: string): string {
    return ownershipComment(this.settings.clusterName, 'acme', identifier);
  }

  /** True while an order in this process uses a challenge record with `comment`. */
  isChallengeRunning(comment: string): boolean {
    return this.runningComments.has(comment);
  }

  /**
   * Issues one certificate for `request.names`, verified before it is returned. An unfinished
   * order in `request.resume` is continued instead of creating a new one.
   */
  async issue(request: OrderRequest, dns: DnsProvider, signal?: AbortSignal): Promise<IssuedCertificate> {
    return withCaExchange((exchange) => this.runOrder(request, dns, exchange, signal));
  }

  private async runOrder(request: OrderRequest, dns: DnsProvider, exchange: CaExchange, signal?: AbortSignal): Promise<IssuedCertificate> {
    const { directory, names } = request;
    const settings = await this.issuerSettings(request);
    const client = await this.accountClient(directory, request.email, settings.eab, exchange);
    const log = this.logger.child({ certificate: request.certificateId, names });
    const fail = (err: unknown, action: string): AppError => translateCaError(err, exchange, directory, action);

    let order = await this.resumeOrder(client, request, log, exchange);
    let keyPem = order === null ? null : await this.secrets.read('certificate-order-key', request.certificateId);
    if (order !== null && keyPem === null && order.status !== 'pending' && order.status !== 'ready') {
      log.warn({ order_url: order.url }, 'the key of the unfinished order is lost, starting a new order');
      order = null;
    }
    if (order === null) {
      const payload: Record<string, unknown> = { identifiers: names.map((value) => ({ type: 'dns', value })) };
      if (request.replaces !== null) payload['replaces'] = request.replaces;
      if (settings.profile !== null) payload['profile'] = settings.profile;
      try {
        // acme-client 5.4.0 sends the payload as given; its typings lack `replaces` (RFC 9773)
        // and `profile` (draft-aaron-acme-profiles).
        order = await client.createOrder(payload as unknown as Parameters<acme.Client['createOrder']>[0]);
      } catch (err) {
        throw fail(err, `create an order for ${names.join(', ')}`);
      }
      keyPem = null;
      await this.secrets.remove('certificate-order-key', request.certificateId);
      await request.onOrderCreated({ url: order.url, directory, names, keyType: request.keyType, replaces: request.replaces, createdAt: new Date().toISOString() });
      log.info({ order_url: order.url, replaces: request.replaces }, 'acme order created');
    }

    if (order.status === 'pending') await this.authorize(client, order, request, dns, log, fail, signal);

    if (keyPem === null) {
      // The key is stored before finalize, so that a restart after finalize can still use it.
      keyPem = await createCertificateKey(request.keyType);
      await this.secrets.write('certificate-order-key', request.certificateId, keyPem);
    }
    try {
      if (order.status === 'pending' || order.status === 'ready') {
        const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, keyPem);
        order = await client.finalizeOrder(order, csr);
      }
      order = await this.waitWhileProcessing(client, order, exchange, log, signal);
    } catch (err) {
      throw fail(err, `finalize the order for ${names.join(', ')}`);
    }
    if (order.status !== 'valid') {
      throw new AppError('ACME_FAILED', `The order ${order.url} for ${names.join(', ')} ended with status ${order.status}: ${JSON.stringify((order as { error?: unknown }).error ?? null)}`);
    }
    let chainPem: string;
    try {
      chainPem = await client.getCertificate(order);
    } catch (err) {
      throw fail(err, `download the certificate of order ${order.url}`);
    }
    const facts = verifyIssuedCertificate(chainPem, keyPem, names.map((name) => name.toLowerCase()));
    log.info({ serial: facts.serial, not_after: facts.notAfter.toISOString() }, 'certificate issued');
    return { ...facts, chainPem, keyPem };
  }

  /** Removes the key of a finished order; called once the certificate is stored. */
  async forgetOrderKey(certificateId: string): Promise<void> {
    await this.secrets.remove('certificate-order-key', certificateId);
  }

  /** Fetches a stored unfinished order; returns null when none matches or it can no longer finish. */
  private async resumeOrder(client: acme.Client, request: OrderRequest, log: Logger, exchange: CaExchange): Promise<AcmeOrder | null> {
    const pending = request.resume;
    if (pending === null || pending.directory !== request.directory || pending.names.join(',') !== request.names.join(',') || pending.keyType !== request.keyType) return null;
    try {
      const order = await client.getOrder({ url: pending.url } as AcmeOrder);
      const status: string = order.status;
      if (status === 'invalid' || status === 'expired' || status === 'deactivated') {
        log.info({ order_url: pending.url, status: order.status }, 'the unfinished order can no longer finish, starting a new order');
        return null;
      }
      log.info({ order_url: pending.url, status: order.status }, 'resuming the unfinished order');
      return order;
    } catch (err) {
      exchange.lastProblem = null;
      log.info({ order_url: pending.url, err: (err as Error).message }, 'the unfinished order is gone, starting a new order');
      return null;
    }
  }

  /** Publishes every challenge, waits for DNS, lets the CA validate, and removes the records. */
  private async authorize(
    client: acme.Client,
    order: AcmeOrder,
    request: OrderRequest,
    dns: DnsProvider,
    log: Logger,
    fail: (err: unknown, action: string) => AppError,
    signal?: AbortSignal,
  ): Promise<void> {
    let authorizations;
    try {
      authorizations = await client.getAuthorizations(order);
    } catch (err) {
      throw fail(err, `read the authorizations of order ${order.url}`);
    }
    const published: PublishedChallenge[] = [];
    const comments: string[] = [];
    const work: Array<{ item: PublishedChallenge; challenge: Parameters<acme.Client['completeChallenge']>[0] }> = [];
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
        const comment = this.challengeComment(identifier);
        comments.push(comment);
        this.runningComments.add(comment);
        const target = await challengeTarget(dns, challengeRecordName(identifier), request.registeredDomain, signal);
        await removeOrphanChallenges(dns, target.zone, [target.name], this.settings.clusterName, (record) => this.runningComments.has(record.comment), log, signal);
        let value: string;
        try {
          value = await client.getChallengeKeyAuthorization(challenge);
        } catch (err) {
          throw fail(err, `compute the dns-01 value of ${identifier}`);
        }
        const item = await publishChallenge(dns, target, value, comment, signal);
        published.push(item);
        work.push({ item, challenge });
      }

      // Wait until every authoritative server returns every value, then let the CA validate.
      // Reports of servers the propagation check could not reach, added to a failed validation.
      const unreachable = new Map<string, string>();
      for (const { item } of work) {
        const report = await waitForTxtRecord(item.zone, item.recordName, item.value, this.settings.propagation, signal);
        if (report !== null) unreachable.set(item.recordName, report);
      }
      for (const { item, challenge } of work) {
        try {
          await client.completeChallenge(challenge);
        } catch (err) {
          throw fail(err, `ask the CA to validate ${item.recordName}`);
        }
      }
      for (const { item, challenge } of work) {
        try {
          await client.waitForValidStatus(challenge);
        } catch (err) {
          const report = unreachable.get(item.recordName);
          const before = report === undefined ? '' : ` (the propagation check before could not reach the authoritative servers: ${report})`;
          throw fail(err, `validate the dns-01 challenge of ${item.recordName}${before}`);
        }
      }
      log.info({ challenges: work.length }, 'acme challenges valid');
    } finally {
      await removeChallenges(dns, published, log);
      for (const comment of comments) this.runningComments.delete(comment);
    }
    try {
      Object.assign(order, await client.getOrder(order));
    } catch (err) {
      throw fail(err, `read order ${order.url}`);
    }
  }

  /** Polls an order in `processing`, waiting as long as the CA's Retry-After requests (RFC 8555 section 7.4). */
  private async waitWhileProcessing(client: acme.Client, order: AcmeOrder, exchange: CaExchange, log: Logger, signal?: AbortSignal): Promise<AcmeOrder> {
    let current = order;
    for (let poll = 0; current.status === 'processing' && poll < maxProcessingPolls; poll++) {
      const retryAfter = exchange.lastRetryAfter;
      const asked = retryAfter === null ? 0 : retryAfter.getTime() - Date.now();
      if (asked > maxInlineRetryAfterMs) {
        throw new AppError('ACME_FAILED', `The order ${current.url} is still processing and the CA asks to come back at ${retryAfter?.toISOString() ?? ''}; the order is resumed then`);
      }
      const fallback = Math.min(this.settings.pollMaxMs, this.settings.pollMinMs * 2 ** poll);
      const wait = Math.max(asked, retryAfter === null ? fallback : 0, this.settings.pollMinMs);
      log.debug({ order_url: current.url, wait_ms: wait, poll }, 'order processing, waiting');
      await sleep(wait, signal);
      current = { ...(await client.getOrder(current)), url: current.url };
    }
    return current;
  }

  /**
   * Reads the profile and EAB credentials that the domain of `request` sets for its directory.
   * The profile applies to the primary issuer only, as the verification checks it there.
   */
  private async issuerSettings(request: OrderRequest): Promise<IssuerSettings> {
    const domain: StoredDomain | undefined = this.state.snapshot().domains.find((item) => item.name === request.registeredDomain);
    if (domain === undefined) return { profile: null, eab: null };
    const primary = domain.acmeDirectory === request.directory;
    const keyId = primary ? domain.eabKeyId : domain.fallbackIssuers?.find((item) => item.directory === request.directory)?.eabKeyId;
    let eab: IssuerSettings['eab'] = null;
    if (keyId !== undefined) {
      const hmacKey = await this.secrets.read('acme-account', eabSecretName(request.directory, keyId));
      if (hmacKey === null) this.logger.warn({ domain: domain.name, directory: request.directory, eab_key_id: keyId }, 'the EAB HMAC key is missing, registering without External Account Binding');
      else eab = { kid: keyId, hmacKey };
    }
    return { profile: primary ? (domain.acmeProfile ?? null) : null, eab };
  }

  /**
   * Returns a client bound to the account of a directory and email, registering the account
   * when its key is new. A new account is registered with External Account Binding when `eab`
   * is set (RFC 8555 section 7.3.4); a known key needs no binding, because the CA returns the
   * existing account.
   */
  private async accountClient(directory: string, email: string, eab: IssuerSettings['eab'], exchange: CaExchange): Promise<acme.Client> {
    const secretName = accountKeyName(directory, email);
    let accountKey = await this.secrets.read('acme-account', secretName);
    const created = accountKey === null;
    if (accountKey === null) accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    const client = new acme.Client({
      directoryUrl: directory,
      accountKey,
      backoffAttempts: 12,
      backoffMin: this.settings.pollMinMs,
      backoffMax: this.settings.pollMaxMs,
      ...(created && eab !== null ? { externalAccountBinding: eab } : {}),
    });
    try {
      // Sending the contact with the terms flag returns the existing account for a known key
      // (RFC 8555 section 7.3.1) and registers a new one otherwise.
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${email}`] });
    } catch (err) {
      throw translateCaError(err, exchange, directory, `register the ACME account of ${email}`);
    }
    // A new key is stored only once the CA accepted it: a key stored after a refused binding would
    // later be taken for a registered account and sent without the binding.
    if (created) await this.secrets.write('acme-account', secretName, accountKey);
    const url = client.getAccountUrl();
    await this.state.update((state) => {
      const known = state.acmeAccounts.find((item) => item.directory === directory && item.email === email);
      if (known === undefined) state.acmeAccounts.push({ directory, email, url });
      else known.url = url;
    });
    return client;
  }
}
