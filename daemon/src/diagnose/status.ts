import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import packageJson from '../../../package.json' with { type: 'json' };
import { isWritable } from '../cluster/pmxcfs.js';
import { readWorkHolder, WORK_HOLDER_FILE, WORK_LOCK_ID } from '../cluster/work-lock.js';
import type { DaemonConfig } from '../config.js';
import { processExists } from '../process-exists.js';
import { buildProxyPaths } from '../proxy/paths.js';
import { RuntimeApiClient } from '../proxy/runtime-api.js';
import { defaultLockDir } from '../store/state-store.js';
import type { StateStore } from '../store/state-store.js';

/** The response of `GET /status`. */
export interface DaemonStatus {
  node: string;
  version: string;
  /**
   * The cluster's work lock: `held` when a node holds it now (its directory exists and is not
   * stale), `holder` that node's name, or null when no node holds it or its holder file is
   * unreadable.
   */
  lock: { holder: string | null; held: boolean };
  /** False while the cluster filesystem is read-only, which pmxcfs makes it without quorum. */
  quorate: boolean;
  haproxy: { running: boolean; pid: number | null; version: string | null };
  /** Services queued for a reconcile pass now, and services whose last pass failed. */
  queue: { pending: number; failing: number };
}

export interface StatusSources {
  config: DaemonConfig;
  state: StateStore;
  /** PID of the HAProxy master the daemon started, or undefined when none runs. */
  haproxyPid(): number | undefined;
  /** Number of services queued for the reconciler. */
  queueLength(): number;
}

/** Time allowed for `show info` on HAProxy's admin socket. */
const runtimeTimeoutMs = 2_000;

/** Reads the daemon's state, the cluster lock, quorum and HAProxy for `GET /status`. */
export class StatusReporter {
  constructor(private readonly sources: StatusSources) {}

  async report(): Promise<DaemonStatus> {
    const { config, state } = this.sources;
    const [lock, quorate, haproxy] = await Promise.all([this.lockStatus(), isWritable(config.stateDir).catch(() => false), this.haproxyStatus()]);
    const failing = state.snapshot().services.filter((service) => service.retry.failures > 0).length;
    return {
      node: config.cluster.nodeName,
      version: packageJson.version,
      lock,
      quorate,
      haproxy,
      queue: { pending: this.sources.queueLength(), failing },
    };
  }

  private async lockStatus(): Promise<DaemonStatus['lock']> {
    const { config } = this.sources;
    const lockDir = config.cluster.lockDir ?? defaultLockDir(config.stateDir);
    let held: boolean;
    try {
      held = Date.now() - (await stat(join(lockDir, WORK_LOCK_ID))).mtimeMs <= config.cluster.lockStaleMs;
    } catch {
      held = false;
    }
    if (!held) return { holder: null, held };
    const holder = await readWorkHolder(join(config.stateDir, WORK_HOLDER_FILE));
    return { holder: holder?.node ?? null, held };
  }

  private async haproxyStatus(): Promise<DaemonStatus['haproxy']> {
    const pid = this.sources.haproxyPid();
    if (pid === undefined || !processExists(pid)) return { running: false, pid: null, version: null };
    const { config } = this.sources;
    const paths = buildProxyPaths(config.proxy.configDir, join(config.runDir, 'haproxy'));
    let version: string | null = null;
    try {
      const info = await new RuntimeApiClient(paths.adminSocket).execute({ command: 'show info' }, { timeoutMs: runtimeTimeoutMs });
      version = /^Version:\s*(\S+)/m.exec(info)?.[1] ?? null;
    } catch {
      // The version stays unknown; running and pid come from the process itself.
    }
    return { running: true, pid, version };
  }
}
