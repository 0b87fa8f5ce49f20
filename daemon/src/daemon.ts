import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AcmeIssuer } from './acme/issuer.js';
import { ensureDefaultSite } from './domains/sites.js';
import { DomainVerifier } from './domains/verification.js';
import { buildApi, listenOnSocket, listenOnTcp, type TcpListener } from './api/server.js';
import { AuditLog } from './auth/audit-log.js';
import { createRemoteAccess, loadListenerCertificate } from './auth/setup.js';
import type { DaemonConfig } from './config.js';
import { CloudflareProvider, type CloudflareCredentials } from './dns/cloudflare.js';
import type { DnsProvider } from './dns/provider.js';
import { AppError, errorMessage } from './errors.js';
import { HaproxyIngress } from './proxy/haproxy.js';
import { NftRunner } from './forward/nft-runner.js';
import { UdpForwarder } from './forward/udp-forwarder.js';
import { reservedPorts } from './api/service-protocol.js';
import { PveGuestDirectory } from './pve/guests.js';
import { CertificateManager } from './reconcile/certificate-manager.js';
import { GuestWatch } from './reconcile/guest-watch.js';
import { openObservability } from './notify/observability.js';
import { Reconciler } from './reconcile/reconciler.js';
import { CertificateFiles } from './store/certificate-files.js';
import type { StoredDomain } from './store/model.js';
import { SecretStore } from './store/secret-store.js';
import { defaultLockDir, StateStore } from './store/state-store.js';
import { ChangePoller } from './cluster/change-poller.js';
import { ClusterLock } from './cluster/cluster-lock.js';
import { registerNode } from './cluster/node-registry.js';
import { WORK_HOLDER_FILE, WORK_LOCK_ID, WorkLock } from './cluster/work-lock.js';
import { PveGuestConfig } from './pve/guest-config.js';
import { PveNodeNetwork } from './pve/node-network.js';
import { processExists } from './process-exists.js';
import { Diagnostics } from './diagnose/diagnostics.js';
import { StatusReporter } from './diagnose/status.js';

export interface RunningDaemon {
  stop(): Promise<void>;
}

/**
 * Refuses to start when another daemon with the same run folder is alive: the state file has
 * exactly one writer.
 */
async function claimPidFile(path: string): Promise<void> {
  try {
    const previous = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && processExists(previous)) {
      throw new AppError('CONFIG_INVALID', `Another pve-domainsd (PID ${previous}) is running with the run folder of ${path}; stop it first`);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
  }
  await writeFile(path, `${process.pid}\n`, { mode: 0o644 });
}

async function readCredentials(secrets: SecretStore, domain: string): Promise<CloudflareCredentials> {
  const text = await secrets.require('cloudflare', domain);
  try {
    return JSON.parse(text) as CloudflareCredentials;
  } catch (err) {
    throw new AppError('STORE_FAILED', `The Cloudflare credentials of ${domain} are unreadable; set them again through the API`, { cause: err });
  }
}

/** Starts every part of the daemon; the returned handle stops them in reverse order. */
export async function startDaemon(config: DaemonConfig, logger: Logger): Promise<RunningDaemon> {
  await mkdir(config.runDir, { recursive: true, mode: 0o755 });
  const pidFile = join(config.runDir, 'pve-domainsd.pid');
  await claimPidFile(pidFile);

  const lockDir = config.cluster.lockDir ?? defaultLockDir(config.stateDir);
  // claimPidFile has made sure that no other daemon uses this run folder and its lock owner file.
  const state = await StateStore.open(config.stateDir, { lockDir, lockStaleMs: config.cluster.lockStaleMs, lockOwnerFile: join(config.runDir, 'state-lock.owner') });
  const nodeNetwork = new PveNodeNetwork({ url: config.pve.url, tokenId: config.pve.tokenId, tokenSecretFile: config.pve.tokenSecretFile, timeoutMs: config.pve.requestTimeoutMs });
  // One read of the node network serves both the default site and this node's ingress record.
  let nodeAddresses: Promise<string[]> | undefined;
  const readNodeAddresses = (): Promise<string[]> => (nodeAddresses ??= nodeNetwork.defaultRouteAddresses(config.cluster.nodeName));
  try {
    await ensureDefaultSite(state, config.site, { name: config.cluster.nodeName, readAddresses: readNodeAddresses });
  } catch (err) {
    logger.warn({ err: errorMessage(err), node: config.cluster.nodeName }, 'unable to create the default site; create a site through the API or set site.addresses, and restart to try again');
  }
  await registerNode(state, config, logger, readNodeAddresses);
  const secrets = new SecretStore(config.secretsDir);
  const certificates = new CertificateFiles(config.stateDir, secrets);
  const proxy = new HaproxyIngress({
    binary: config.proxy.binary,
    configDir: config.proxy.configDir,
    runDir: join(config.runDir, 'haproxy'),
    httpBind: config.proxy.httpBind,
    httpsBind: config.proxy.httpsBind,
    ...(config.proxy.httpsRedirectPort === null ? {} : { httpsRedirectPort: config.proxy.httpsRedirectPort }),
    errorPages: { overrideDir: config.proxy.errorPagesDir },
    logger,
  });
  await proxy.start();
  // UDP services: the nftables table outlives the daemon, and a reboot clears it, so the stored
  // forwards are applied again at every start.
  const udpForwarder = new UdpForwarder({ stateFile: join(config.proxy.configDir, 'udp-forwards.json'), runner: new NftRunner(), logger });
  await udpForwarder.restore().catch((err: unknown) => logger.error({ err }, 'unable to restore the udp forwards; the reconciler applies them again'));

  const guests = new PveGuestDirectory({ url: config.pve.url, tokenId: config.pve.tokenId, tokenSecretFile: config.pve.tokenSecretFile, timeoutMs: config.pve.requestTimeoutMs, logger });
  const issuer = new AcmeIssuer(
    {
      clusterName: config.clusterName,
      caFile: config.acme.caFile,
      pollMinMs: config.acme.pollMinMs,
      pollMaxMs: config.acme.pollMaxMs,
      requestTimeoutMs: config.acme.requestTimeoutMs,
      propagation: {
        resolvers: config.dns.resolvers,
        authoritativePort: config.dns.authoritativePort,
        timeoutMs: config.dns.propagationTimeoutMs,
        intervalMs: config.dns.propagationIntervalMs,
        validateWhenUnreachable: config.certificates.validateWhenDnsUnreachable,
        logger,
      },
      logger,
    },
    state,
    secrets,
  );
  // The collectors and checks call reconciler and isWorkHolder only after start(), once both exist.
  const observability = await openObservability(config, { state, routeStatus: () => proxy.routeStatus(), reconcileQueue: () => reconciler.queueStatus(), isWorkHolder: () => isWorkHolder(), logger });
  const dnsFor = async (domain: StoredDomain): Promise<DnsProvider> =>
    observability.instrumentDns(domain.name, new CloudflareProvider({ apiBaseUrl: config.cloudflare.apiBaseUrl, credentials: await readCredentials(secrets, domain.name), timeoutMs: config.cloudflare.requestTimeoutMs, logger }));

  // Set below; until the work lock is decided this node counts as not holding it.
  let workLock: WorkLock | null = null;
  const isWorkHolder = (): boolean => workLock?.isHolder() ?? false;
  const certificateManager = new CertificateManager({ config, state, files: certificates, issuer, proxy, dnsFor, isWorkHolder, observer: observability.certificateObserver, logger });
  const guestConfig = new PveGuestConfig({ url: config.pve.url, tokenId: config.pve.tokenId, tokenSecretFile: config.pve.tokenSecretFile, timeoutMs: config.pve.requestTimeoutMs, logger });
  const onDomainRemoved = (domain: string): Promise<void> => secrets.remove('cloudflare', domain);
  const reconciler = new Reconciler({ config, state, certificates, issuer, guests, proxy, dnsFor, certificateManager, isWorkHolder, guestConfig, onDomainRemoved, metrics: observability.metrics, streams: { tcp: proxy, udp: udpForwarder }, logger });
  // TCP requests need a PVE ticket or API token; without a TCP listener no PVE key is read.
  const remote = config.api.listen === null ? undefined : await createRemoteAccess(config);
  const audit = new AuditLog(join(config.stateDir, 'audit.log'));
  // routeStatus is an optional addition read by the service routes (LiveRouteSource in api/services.ts).
  const domainVerifier = new DomainVerifier(
    { clusterName: config.clusterName, cloudflareApiBaseUrl: config.cloudflare.apiBaseUrl, resolvers: config.dns.resolvers, acmeCaFile: config.acme.caFile, tasks: observability.tasks, notify: observability.notify, logger },
    state,
    secrets,
  );
  // Read by the diagnose and status routes (DiagnoseSource in api/diagnose.ts, StatusSource in api/status.ts).
  const diagnostics = new Diagnostics({ config, state, secrets, logger });
  const statusReporter = new StatusReporter({ config, state, haproxyPid: () => proxy.pid, queueLength: () => reconciler.queueLength() });
  const apiContext = { state, secrets, diagnostics, statusReporter, enqueue: (fqdn: string) => reconciler.enqueue(fqdn), renewCertificate: (id: string) => certificateManager.renewNow(id), routeStatus: () => proxy.routeStatus(), domainVerifier, metrics: observability.metrics, tasks: observability.tasks, reservedPorts: reservedPorts({ apiPort: config.api.listen?.port ?? null, ingressPorts: [config.proxy.httpBind.port, config.proxy.httpsBind.port] }), logger };
  const api = await buildApi(apiContext, { remote, audit });
  await rm(config.api.socket, { force: true });
  await listenOnSocket(api, config.api.socket);
  let tcp: TcpListener | null = null;
  if (config.api.listen !== null) {
    tcp = await listenOnTcp(api, { ...config.api.listen, ...(await loadListenerCertificate(config)) });
    logger.info({ address: tcp.address, port: tcp.port }, 'API listening on HTTPS');
  }
  reconciler.start();
  workLock = new WorkLock({
    lock: new ClusterLock(WORK_LOCK_ID, { lockDir, staleMs: config.cluster.lockStaleMs, timeoutMs: 0, retryMs: config.cluster.workLockRefreshMs }),
    holderFile: join(config.stateDir, WORK_HOLDER_FILE),
    nodeName: config.cluster.nodeName,
    refreshMs: config.cluster.workLockRefreshMs,
    onChange: (holding) => {
      if (!holding) return;
      // The new holder takes over the DNS, certificate and renewal work of every service.
      certificateManager.start();
      for (const service of state.snapshot().services) reconciler.enqueue(service.fqdn);
    },
    logger,
  });
  workLock.start();
  const poller = new ChangePoller({
    store: state,
    intervalMs: config.cluster.pollIntervalMs,
    onChanges: (changes) => {
      for (const fqdn of [...changes.changed, ...changes.removed]) reconciler.enqueue(fqdn);
    },
    logger: logger.child({ subsystem: 'state-poller' }),
  });
  poller.start();
  const guestWatch = new GuestWatch({ guests, state, refresh: (fqdn) => reconciler.refreshRoute(fqdn), logger });
  guestWatch.start();
  observability.start();
  logger.info({ socket: config.api.socket, pid: process.pid }, 'pve-domainsd started');

  return {
    async stop(): Promise<void> {
      logger.info('pve-domainsd stopping');
      await tcp?.close();
      await api.close();
      await guestWatch.stop();
      await poller.stop();
      await reconciler.stop();
      await certificateManager.stop();
      await observability.stop();
      await workLock?.stop();
      await proxy.stop();
      await rm(pidFile, { force: true });
      logger.info('pve-domainsd stopped');
    },
  };
}
