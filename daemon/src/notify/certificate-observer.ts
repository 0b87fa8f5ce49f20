import type { Counter } from '../metrics/registry.js';
import type { StoredCertificate } from '../store/model.js';
import { noTask, runTask, type TaskHandle, type TaskStore } from '../tasks/task-store.js';
import { certificateIssued, renewalFailed, type Notification, type RenewalFailure } from './events.js';

export interface CertificateObserverDeps {
  tasks?: TaskStore;
  notify?(notification: Notification): unknown;
  counters?: { certificateOrders: Counter<'kind' | 'result'> };
  /** Failures in a row from which a failing order is notified; an order that waiting cannot heal is notified at once. */
  failureThreshold: number;
}

/**
 * PVE user recorded on orders and checks.
 * NOTE: verifications requested through the API are recorded as this user too, because the
 * verifier does not receive the caller's identity.
 */
export const DAEMON_USER = 'root@pam';

/**
 * Receiver of the certificate manager's order reports: each order runs as a task, and its outcome
 * is counted and notified.
 */
export class CertificateObserver {
  constructor(private readonly deps: CertificateObserverDeps) {}

  /**
   * Runs one order as an `issue` or `renew` task of certificate `id`. The task starts at the
   * order's first log line, so that an order refused by its backoff leaves no task.
   */
  runOrder<T>(renewal: boolean, id: string, work: (task: TaskHandle) => Promise<T>): Promise<T> {
    return runTask(this.deps.tasks, renewal ? 'renew' : 'issue', id, DAEMON_USER, work, true);
  }

  issued(certificate: StoredCertificate, renewal: boolean): void {
    this.deps.counters?.certificateOrders.inc({ kind: renewal ? 'renew' : 'issue', result: 'ok' });
    this.deps.notify?.(certificateIssued(certificate, renewal));
  }

  failed(failure: RenewalFailure, renewal: boolean): void {
    this.deps.counters?.certificateOrders.inc({ kind: renewal ? 'renew' : 'issue', result: 'error' });
    if (failure.blocked || failure.failures >= this.deps.failureThreshold) this.deps.notify?.(renewalFailed(failure));
  }
}

/** Runs `work` with the observer's task, or with a task that records nothing when there is no observer. */
export function observedOrder<T>(observer: CertificateObserver | undefined, renewal: boolean, id: string, work: (task: TaskHandle) => Promise<T>): Promise<T> {
  return observer === undefined ? work(noTask) : observer.runOrder(renewal, id, work);
}
