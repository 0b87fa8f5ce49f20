import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config.js';
import type { DnsProvider } from '../dns/provider.js';
import { AppError, errorMessage } from '../errors.js';
import { countCaRequests } from '../metrics/ca-requests.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';
import { instrumentDnsProvider } from '../metrics/dns-requests.js';
import type { RouteStatus } from '../proxy/ingress.js';
import { redactSecrets } from '../reconcile/certificate-manager.js';
import type { StateDocument } from '../store/model.js';
import { TaskStore } from '../tasks/task-store.js';
import { CertificateObserver } from './certificate-observer.js';
import { credentialsRejected, type Notification } from './events.js';
import { Notifier } from './notifier.js';
import { NotificationWatch } from './watch.js';

export interface ObservabilitySources {
  state: { snapshot(): StateDocument };
  routeStatus: () => Promise<RouteStatus[]>;
  reconcileQueue: () => { pending: number; scheduled: number };
  isWorkHolder: () => boolean;
  logger: Logger;
}

/** Metrics, tasks and notifications of one daemon, built from its settings. */
export interface Observability {
  metrics: DaemonMetrics;
  tasks: TaskStore;
  notifier: Notifier;
  certificateObserver: CertificateObserver;
  notify: (notification: Notification) => boolean;
  /** Counts the operations of a domain's DNS provider and notifies when its credentials are rejected. */
  instrumentDns(domain: string, provider: DnsProvider): DnsProvider;
  /** Starts the periodic expiry and backend checks. */
  start(): void;
  stop(): Promise<void>;
}

/** Opens the task store and the notifier and builds the metrics; nothing runs until start(). */
export async function openObservability(config: DaemonConfig, sources: ObservabilitySources): Promise<Observability> {
  const node = config.cluster.nodeName;
  const logger = sources.logger;
  const metrics = new DaemonMetrics({ state: sources.state, routeStatus: sources.routeStatus, reconcileQueue: sources.reconcileQueue });
  countCaRequests(metrics);
  const tasks = await TaskStore.open(config.tasks.dir, { node, keep: config.tasks.keep, redact: redactSecrets, logger });
  await mkdir(dirname(config.notify.stateFile), { recursive: true, mode: 0o700 });
  const ca = config.notify.webhookCaFile === null ? undefined : await readFile(config.notify.webhookCaFile, 'utf8');
  const notifier = await Notifier.open({
    node,
    sendmailPath: config.notify.sendmailPath,
    mailTo: config.notify.mailTo,
    repeatIntervalMs: config.notify.repeatIntervalMs,
    stateFile: config.notify.stateFile,
    webhook: { timeoutMs: config.notify.webhookTimeoutMs, attempts: config.notify.webhookAttempts, retryDelayMs: config.notify.webhookRetryDelayMs, ca },
    webhookFor: (domain) => sources.state.snapshot().domains.find((item) => item.name === domain)?.notifyWebhook,
    counters: metrics,
    logger,
  });
  const notify = (notification: Notification): boolean => notifier.notify(notification);
  const watch = new NotificationWatch({
    node,
    state: sources.state,
    routeStatus: sources.routeStatus,
    notify,
    isWorkHolder: sources.isWorkHolder,
    expiringSoonMs: config.notify.expiringSoonMs,
    intervalMs: config.notify.checkIntervalMs,
    downChecks: config.notify.backendDownChecks,
    logger: logger.child({ subsystem: 'notify-watch' }),
  });
  return {
    metrics,
    tasks,
    notifier,
    certificateObserver: new CertificateObserver({ tasks, notify, counters: metrics, failureThreshold: config.notify.renewalFailureThreshold }),
    notify,
    instrumentDns: (domain, provider) =>
      instrumentDnsProvider(provider, metrics, (err) => {
        if (err instanceof AppError && err.code === 'DNS_AUTH_FAILED') notify(credentialsRejected(domain, redactSecrets(errorMessage(err))));
      }),
    start: () => watch.start(),
    async stop() {
      await watch.stop();
      await notifier.stop();
      await tasks.flush();
    },
  };
}
