import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from 'pino';

import { readFileIfExists } from './atomic-file.js';
import { CLOUDFLARE_RANGES } from './cloudflare-ranges.js';
import { SlotRenderCache, renderCrtList, renderHaproxyConfig, type HaproxyConfigOptions } from './haproxy-config.js';
import { FileChange, appendRouteJournal, certificateIdsOf, clearRouteJournal, ensureDirectories, prepareFiles, readCrtList, readRouteTable, writeRouteFiles } from './haproxy-files.js';
import { http3Status, readHaproxyBuild, type Http3Status } from './haproxy-features.js';
import { HaproxyProcess, checkConfiguration, stopLeftoverMaster } from './haproxy-process.js';
import { parseShowStat } from './haproxy-stats.js';
import type { IngressProxy, Route, RouteStatus } from './ingress.js';
import { buildProxyPaths, certificatePath, type ProxyPaths } from './paths.js';
import { buildCertificateBundle } from './pem.js';
import { normaliseNetwork } from './route-options.js';
import { applyRouteChange, removeRouteAtRuntime } from './route-runtime.js';
import { freeSlot, grownSlotCount, normaliseRoute, type RouteJournalEntry, type RouteRecord, type RouteTable } from './route-table.js';
import { RuntimeApiClient, type RuntimeApi } from './runtime-api.js';
import * as runtime from './runtime-changes.js';
import { normaliseStreamService, parseStreamTable, renderStreamTable, type StreamService } from './stream-services.js';
import { assertCertificateId, assertHostname, assertSafePath } from './validation.js';

export interface HaproxySettings {
  /** HAProxy executable, e.g. `/usr/sbin/haproxy`. */
  binary: string;
  /** Directory of haproxy.cfg, hosts.map, crt-list and certs/ (created with mode 0700). */
  configDir: string;
  /** Directory of the admin socket, the master socket and the pid file (created with mode 0700). */
  runDir: string;
  /** Plain HTTP frontend, which redirects known hosts to HTTPS. */
  httpBind: { address: string; port: number };
  /** TLS frontend. */
  httpsBind: { address: string; port: number };
  /** Port put in the redirect Location when it is not 443. */
  httpsRedirectPort?: number;
  logger: Logger;
  /**
   * Maximum wait for HAProxy to respond after start or reload, default 60 s. HAProxy 2.6 loaded
   * 10,000 certificates in about 7 s on a 2-core test machine.
   */
  readyTimeoutMs?: number;
  /** Wait after SIGTERM before SIGKILL at stop; default 5 s. */
  stopGraceMs?: number;
  /** Networks whose CF-Connecting-IP header is trusted; default Cloudflare's published ranges. */
  trustedProxyNetworks?: readonly string[];
  /**
   * Install the product's error pages (see error-pages/pages.ts); `overrideDir` holds the
   * administrator's replacements. Unset keeps HAProxy's pages and a bare 404.
   */
  errorPages?: { overrideDir: string | null };
  /** Serve HTTP/3 when the HAProxy build has QUIC (default true); checked with `haproxy -vv` at start. */
  http3?: boolean;
}

/** Replaceable parts, for tests that simulate runtime API failures. */
export interface HaproxyDependencies {
  runtimeApi?: RuntimeApi;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 5_000;
/**
 * Delay of the file write after route changes applied through the runtime API alone. The files
 * contain every route, so one write costs as much as all routes together. Changes that arrive
 * within the delay share one write.
 */
const ROUTE_FILE_WRITE_DELAY_MS = 1_000;

/**
 * HAProxy as the ingress proxy: a child process in master-worker mode, Host routing through a map
 * file to one backend per route, certificates through a crt-list. Every change is written to the
 * files and then applied through the runtime API. A reload (after `haproxy -c`) happens only when
 * a backend's rules change (see haproxy-config.ts), when every declared backend slot is taken, or
 * when the runtime API fails. When HAProxy is not running, changes only go to the files and the
 * next start() loads them.
 */
export class HaproxyIngress implements IngressProxy {
  private readonly settings: HaproxySettings;
  private readonly paths: ProxyPaths;
  private readonly configOptions: HaproxyConfigOptions;
  private readonly logger: Logger;
  private readonly runtimeApi: RuntimeApi;
  private readonly trustedProxies: string[];
  private process: HaproxyProcess | undefined;
  /** Slot structures of the configuration the running HAProxy loaded; a change to one of them needs a reload. */
  private loadedStructures: string[] | undefined;
  /** routes.json as last written by this instance; undefined until read, and after a failed change. */
  private routeTable: RouteTable | undefined;
  private readonly slotCache = new SlotRenderCache();
  private queue: Promise<unknown> = Promise.resolve();
  private directoriesReady = false;
  /** True while the route files lag behind routeTable (see applyWithoutFiles). */
  private routeFilesBehind = false;
  private routeFileTimer: NodeJS.Timeout | undefined;
  private http3Status: Http3Status | undefined;
  /** The `show stat` request in flight, which concurrent routeStatus calls share. */
  private statsInFlight: Promise<ReturnType<typeof parseShowStat>> | undefined;

  constructor(settings: HaproxySettings, dependencies: HaproxyDependencies = {}) {
    assertSafePath(settings.binary, 'binary');
    this.settings = settings;
    this.paths = buildProxyPaths(settings.configDir, settings.runDir);
    this.configOptions = {
      paths: this.paths,
      httpBind: settings.httpBind,
      httpsBind: settings.httpsBind,
      httpsRedirectPort: settings.httpsRedirectPort,
      errorPages: settings.errorPages !== undefined,
      errorPageOverrideDir: settings.errorPages?.overrideDir ?? null,
    };
    this.logger = settings.logger.child({ subsystem: 'proxy' });
    this.runtimeApi = dependencies.runtimeApi ?? new RuntimeApiClient(this.paths.adminSocket);
    this.trustedProxies = (settings.trustedProxyNetworks ?? CLOUDFLARE_RANGES).map((network) => normaliseNetwork('trustedProxyNetworks', network));
  }

  /** The PID of the daemon whose HAProxy the pid file names; a restart tells a left-over master by it. */
  private get ownerFile(): string {
    return join(this.paths.runDir, 'haproxy.owner');
  }

  /** Whether HTTP/3 is served, as found at the last start; undefined before the first start. */
  get http3(): Http3Status | undefined {
    return this.http3Status;
  }

  /** Reads the build's features and turns the QUIC listener on when it has QUIC; logs the outcome. */
  private async detectHttp3(signal?: AbortSignal): Promise<void> {
    if (this.settings.http3 === false) {
      this.http3Status = { available: false, message: 'HTTP/3 is turned off in the settings' };
      this.configOptions.http3 = false;
      return;
    }
    const status = http3Status(await readHaproxyBuild(this.settings.binary, signal));
    this.http3Status = status;
    this.configOptions.http3 = status.available;
    if (status.available) this.logger.info({ http3: true }, status.message);
    else this.logger.warn({ http3: false }, status.message);
  }

  /** PID of the HAProxy master this instance started, while it runs. */
  get pid(): number | undefined {
    return this.process?.running === true ? this.process.pid : undefined;
  }

  /** PIDs of the HAProxy workers seen at the last start or reload. */
  get workerPids(): readonly number[] {
    return this.process?.workerPids ?? [];
  }

  /** Absolute paths of the files and sockets this instance uses. */
  get files(): Readonly<ProxyPaths> {
    return this.paths;
  }

  async start(signal?: AbortSignal): Promise<void> {
    await this.serialize(async () => {
      if (this.process?.running === true) return;
      // After a crash, workers that outlived the master are stopped before a new master starts.
      await this.process?.stop();
      this.process = undefined;
      const startedAt = Date.now();
      try {
        await this.writeDeferredFiles();
        this.routeTable = undefined;
        this.configOptions.streamServices = await this.readStreamServices();
        await this.detectHttp3(signal);
        const rendered = await prepareFiles(this.configOptions, this.trustedProxies, this.logger);
        this.loadedStructures = rendered.slotStructures;
        await this.replaceLeftoverInstance(signal);
        await checkConfiguration(this.settings.binary, this.paths.configFile, signal);
        this.process = await HaproxyProcess.start(
          {
            binary: this.settings.binary,
            paths: this.paths,
            logger: this.logger,
            readyTimeoutMs: this.settings.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
            stopGraceMs: this.settings.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
            runtimeApi: this.runtimeApi,
          },
          signal,
        );
        await writeFile(this.ownerFile, `${process.pid}\n`, { mode: 0o600 });
      } catch (err) {
        this.logger.error({ err, config_file: this.paths.configFile }, 'proxy start failed');
        throw err;
      }
      this.logger.info(
        { haproxy_pid: this.process.pid, worker_pids: this.process.workerPids, duration_ms: Date.now() - startedAt },
        'proxy started',
      );
    });
  }

  async stop(): Promise<void> {
    await this.serialize(async () => {
      await this.writeDeferredFiles();
      const current = this.process;
      if (current === undefined) return;
      const stoppedAt = Date.now();
      await current.stop();
      this.process = undefined;
      this.logger.info({ haproxy_pid: current.pid, duration_ms: Date.now() - stoppedAt }, 'proxy stopped');
    });
  }

  /**
   * Checks the files with `haproxy -c` and reloads the running HAProxy. Throws, and leaves the
   * running configuration in place, when the check fails or HAProxy is not running.
   */
  async reload(signal?: AbortSignal): Promise<void> {
    await this.serialize(async () => {
      await this.writeDeferredFiles();
      await this.reloadNow(signal);
    });
  }

  async setRoute(route: Route, signal?: AbortSignal): Promise<void> {
    const normalised = normaliseRoute(route);
    const hostname = normalised.hostname;

    await this.serializeChange(async () => {
      const current = await this.currentTable();
      const table: RouteTable = { ...current, routes: [...current.routes] };
      const previous = table.routes.find((existing) => existing.hostname === hostname);
      let slot = previous?.slot ?? freeSlot(table);
      if (slot === undefined) {
        table.slotCount = grownSlotCount(table);
        slot = freeSlot(table) ?? table.slotCount - 1;
      }
      const record: RouteRecord = { ...normalised, slot };
      table.routes = [...table.routes.filter((existing) => existing.hostname !== hostname), record];

      // The same rendering as the configuration file's, from the cache that file is rendered with.
      const structure = this.slotCache.get(slot, record, this.paths, this.configOptions.errorPages === true).structure.join('\n');
      const loaded = this.loadedStructures;
      const structural = loaded !== undefined && (slot >= loaded.length || loaded[slot] !== structure);
      const fields = {
        change: 'set route',
        route_host: hostname,
        backend_slot: slot,
        targets: record.targets.map((target) => `${target.address}:${target.port}`),
        maintenance: record.maintenance,
        structural,
      };
      const apply = (): Promise<void> => applyRouteChange(this.runtimeApi, this.paths, previous, record, { signal });
      if (!structural && (await this.applyWithoutFiles(table, { set: record }, fields, apply, signal))) return;

      await this.writeDeferredFiles();
      const change = new FileChange();
      await writeRouteFiles(this.configOptions, table, change, this.slotCache);
      await this.commitTable(table, () => this.applyAtRuntime(fields, change, structural ? undefined : apply, signal));
    }, false);
  }

  /**
   * Replaces every route at once: one write of the files and, when HAProxy runs, one checked
   * reload. Meant for bulk loads (import, benchmarks); single changes use setRoute().
   */
  async replaceRoutes(routes: readonly Route[], signal?: AbortSignal): Promise<void> {
    const records = routes.map((route) => normaliseRoute(route));
    await this.serializeChange(async () => {
      const table: RouteTable = { version: 1, slotCount: 0, routes: [] };
      table.slotCount = grownSlotCount({ ...table, slotCount: records.length });
      table.routes = records.map((record, slot) => ({ ...record, slot }));
      const change = new FileChange();
      await writeRouteFiles(this.configOptions, table, change, this.slotCache);
      await this.commitTable(table, () => this.applyAtRuntime({ change: 'replace routes', routes: records.length, structural: true }, change, undefined, signal));
    });
  }

  async removeRoute(hostname: string, signal?: AbortSignal): Promise<void> {
    assertHostname(hostname);
    await this.serializeChange(async () => {
      const current = await this.currentTable();
      const previous = current.routes.find((route) => route.hostname === hostname);
      const table: RouteTable = { ...current, routes: current.routes.filter((route) => route.hostname !== hostname) };
      const fields = { change: 'remove route', route_host: hostname };
      // A removal never reloads: the freed slot keeps its old rules in the running HAProxy but gets no traffic.
      const apply = async (): Promise<void> => {
        const leftovers = await removeRouteAtRuntime(this.runtimeApi, this.paths, hostname, previous, { signal });
        if (leftovers.length > 0) {
          this.logger.warn({ route_host: hostname, servers: leftovers }, 'servers with open connections left in maintenance');
        }
      };
      if (await this.applyWithoutFiles(table, { remove: hostname }, fields, apply, signal)) return;

      await this.writeDeferredFiles();
      const change = new FileChange();
      await writeRouteFiles(this.configOptions, table, change, this.slotCache);
      await this.commitTable(table, () => this.applyAtRuntime(fields, change, apply, signal));
    }, false);
  }

  async setCertificate(id: string, chainPem: string, keyPem: string, signal?: AbortSignal): Promise<void> {
    assertCertificateId(id);
    const bundle = buildCertificateBundle(chainPem, keyPem);
    const path = certificatePath(this.paths, id);

    // Only the certificate files are restored on failure, so lagging route files may stay behind.
    await this.serializeChange(async () => {
      const change = new FileChange();
      const fileChanged = (await readFileIfExists(path)) !== bundle;
      if (fileChanged) await change.write(path, bundle);
      const entries = await readCrtList(this.paths);
      if (!entries.includes(path)) await change.write(this.paths.crtListFile, renderCrtList([...entries, path]));

      const isNew = !entries.includes(path);
      await this.applyAtRuntime(
        { change: 'set certificate', certificate_id: id },
        change,
        async () => {
          const loaded = await runtime.crtListContains(this.runtimeApi, this.paths.crtListFile, path, { signal });
          if (loaded && !fileChanged) return;
          await runtime.applyCertificate(this.runtimeApi, this.paths.crtListFile, path, bundle, { signal });
        },
        signal,
        // A rejected new certificate may be half loaded (in the store, not in the crt-list).
        isNew ? () => runtime.removeCertificate(this.runtimeApi, this.paths.crtListFile, path, { signal }) : undefined,
      );
    }, false);
  }

  async removeCertificate(id: string, signal?: AbortSignal): Promise<void> {
    assertCertificateId(id);
    const path = certificatePath(this.paths, id);

    await this.serializeChange(async () => {
      const change = new FileChange();
      const entries = await readCrtList(this.paths);
      if (entries.includes(path)) {
        await change.write(this.paths.crtListFile, renderCrtList(entries.filter((entry) => entry !== path)));
      }
      if ((await readFileIfExists(path)) !== undefined) await change.remove(path);

      await this.applyAtRuntime(
        { change: 'remove certificate', certificate_id: id },
        change,
        () => runtime.removeCertificate(this.runtimeApi, this.paths.crtListFile, path, { signal }),
        signal,
      );
    }, false);
  }

  async listRoutes(): Promise<Route[]> {
    const table = await this.currentTable();
    return [...table.routes]
      .sort((first, second) => (first.hostname < second.hostname ? -1 : 1))
      .map((record) => ({ hostname: record.hostname, targets: record.targets, maintenance: record.maintenance, options: record.options }));
  }

  async routeStatus(signal?: AbortSignal): Promise<RouteStatus[]> {
    if (this.process?.running !== true) return [];
    const table = await this.currentTable();
    const stats = await this.showStat(signal);
    // Indexed, because a search of every server per target grows with the square of the routes.
    const servers = new Map(stats.servers.map((item) => [`${item.backend}/${item.server}`, item]));
    return table.routes.map((record) => {
      const backend = `be_slot_${record.slot}`;
      const counters = stats.backends.get(backend);
      return {
        hostname: record.hostname,
        targets: record.targets.map((target, index) => {
          const server = servers.get(`${backend}/s${index}`);
          return { ...target, state: server?.state ?? 'unknown', check: server?.check ?? null };
        }),
        requests: counters?.requests ?? 0,
        errors: counters?.errors ?? 0,
      };
    });
  }

  /**
   * Runs `show stat`, or joins the request already running. Every API list of services needs it,
   * and with 200 clients, one admin socket connection per request made HAProxy queue them until
   * some timed out. A caller's `signal` stops its own wait, not the shared request.
   */
  private async showStat(signal?: AbortSignal): Promise<ReturnType<typeof parseShowStat>> {
    this.statsInFlight ??= this.runtimeApi.execute({ command: 'show stat' }).then(parseShowStat).finally(() => {
      this.statsInFlight = undefined;
    });
    const shared = this.statsInFlight;
    if (signal === undefined) return shared;
    signal.throwIfAborted();
    return new Promise((resolveStats, reject) => {
      const onAbort = (): void => {
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.then(resolveStats, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async listCertificates(): Promise<string[]> {
    return certificateIdsOf(this.paths, await readCrtList(this.paths));
  }

  /**
   * Adds or replaces the TCP service `service.name` (see stream-services.ts). HAProxy 2.6 cannot
   * add a bind at run time, so a change reloads it gracefully: the master (SIGUSR2) starts a new
   * worker that takes over the listeners, and the old worker keeps its open connections until they
   * close. Throws when another TCP service already uses the external port.
   */
  async setStreamService(service: StreamService, signal?: AbortSignal): Promise<void> {
    const record = normaliseStreamService(service);
    await this.serializeChange(async () => {
      const current = await this.currentStreamServices();
      const holder = current.find((item) => item.externalPort === record.externalPort && item.name !== record.name);
      if (holder !== undefined) {
        throw new Error(`external port ${record.externalPort} is already used by the TCP service ${holder.name}; choose another external port for ${record.name}`);
      }
      const fields = {
        change: 'set stream service',
        service: record.name,
        external_port: record.externalPort,
        tls: record.tlsCertificate !== null,
        targets: record.targets.map((target) => `${target.address}:${target.port}`),
        maintenance: record.maintenance,
      };
      await this.commitStreamServices([...current.filter((item) => item.name !== record.name), record], fields, signal);
    });
  }

  /** Removes the TCP service `name`, which reloads HAProxy; removing one that does not exist succeeds. */
  async removeStreamService(name: string, signal?: AbortSignal): Promise<void> {
    assertHostname(name);
    await this.serializeChange(async () => {
      const current = await this.currentStreamServices();
      if (!current.some((item) => item.name === name)) return;
      await this.commitStreamServices(current.filter((item) => item.name !== name), { change: 'remove stream service', service: name }, signal);
    });
  }

  /** Returns the TCP services in the files on disk, by external port. */
  async listStreamServices(): Promise<StreamService[]> {
    return [...(await this.currentStreamServices())].sort((first, second) => first.externalPort - second.externalPort);
  }

  private get streamsFile(): string {
    return join(this.paths.configDir, 'streams.json');
  }

  /** Reads streams.json; a missing file means no TCP services, and invalid entries are logged and skipped. */
  private async readStreamServices(): Promise<StreamService[]> {
    const text = await readFileIfExists(this.streamsFile);
    if (text === undefined) return [];
    let parsed;
    try {
      parsed = parseStreamTable(text);
    } catch (err) {
      throw new Error(`cannot read ${this.streamsFile}: ${err instanceof Error ? err.message : String(err)}; restore it or remove it to start without TCP services`, { cause: err });
    }
    if (parsed.invalid.length > 0) this.logger.warn({ file: this.streamsFile, services: parsed.invalid }, 'invalid stream services skipped');
    // HAProxy refuses to start with a bind whose certificate file is missing, so such a service is
    // left out until the reconciler installs the certificate and sets the service again.
    const services: StreamService[] = [];
    for (const service of parsed.table.services) {
      const certificate = service.tlsCertificate === null ? undefined : certificatePath(this.paths, service.tlsCertificate);
      if (certificate !== undefined && (await readFileIfExists(certificate)) === undefined) {
        this.logger.error({ service: service.name, certificate }, 'tls stream service without certificate file skipped');
        continue;
      }
      services.push(service);
    }
    return services;
  }

  private async currentStreamServices(): Promise<readonly StreamService[]> {
    this.configOptions.streamServices ??= await this.readStreamServices();
    return this.configOptions.streamServices;
  }

  /** Writes streams.json and haproxy.cfg for `next` and reloads; a rejected change restores both. */
  private async commitStreamServices(next: StreamService[], fields: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    const previous = await this.currentStreamServices();
    const text = renderStreamTable({ version: 1, services: next });
    if (text === renderStreamTable({ version: 1, services: [...previous] })) return;
    const change = new FileChange();
    this.configOptions.streamServices = next;
    try {
      await change.write(this.streamsFile, text);
      await writeRouteFiles(this.configOptions, await this.currentTable(), change, this.slotCache);
      await this.applyAtRuntime(fields, change, undefined, signal);
    } catch (err) {
      // A failed reload leaves the old worker serving the old files, so those are restored too.
      await change.restore();
      this.configOptions.streamServices = previous;
      throw err;
    }
  }

  /**
   * Applies a route change to the running HAProxy through the runtime API, makes `table` current
   * and appends `entry` to the route journal, which start() replays. The other files follow within
   * ROUTE_FILE_WRITE_DELAY_MS, and before any reload, start or stop. Returns false, with nothing
   * changed, when the change has to go through the files now: HAProxy is not running, or the
   * runtime API failed (the file path then tries once more and reloads).
   */
  private async applyWithoutFiles(table: RouteTable, entry: RouteJournalEntry, fields: Record<string, unknown>, apply: () => Promise<void>, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.process?.running !== true) return false;
    const startedAt = Date.now();
    try {
      await apply();
    } catch (err) {
      if (signal?.aborted) {
        this.logger.info(fields, 'change aborted');
        throw err;
      }
      if (this.process?.running === true) this.logger.warn({ ...fields, err }, 'runtime api failed; writing the files and trying again');
      return false;
    }
    this.routeTable = table;
    this.routeFilesBehind = true;
    try {
      await appendRouteJournal(this.paths, entry);
    } catch (err) {
      // The change is live, so only a restart before the next full write would lose it.
      this.logger.error({ ...fields, err, file: this.paths.routeJournalFile }, 'unable to append to the route journal');
    }
    this.scheduleFileWrite();
    this.logger.info({ ...fields, duration_ms: Date.now() - startedAt }, 'change applied');
    return true;
  }

  /** Starts the timer of the deferred file write unless it is running. A failed write starts it again. */
  private scheduleFileWrite(): void {
    if (this.routeFileTimer !== undefined) return;
    this.routeFileTimer = setTimeout(() => {
      this.routeFileTimer = undefined;
      this.serialize(() => this.writeDeferredFiles()).catch((err: unknown) => {
        this.logger.error({ err, config_file: this.paths.configFile }, 'unable to write the route files; trying again');
        this.scheduleFileWrite();
      });
    }, ROUTE_FILE_WRITE_DELAY_MS);
  }

  /** Writes the route files for routeTable when changes applied at run time are not in them yet. */
  private async writeDeferredFiles(): Promise<void> {
    if (!this.routeFilesBehind) return;
    if (this.routeFileTimer !== undefined) {
      clearTimeout(this.routeFileTimer);
      this.routeFileTimer = undefined;
    }
    await writeRouteFiles(this.configOptions, await this.currentTable(), new FileChange(), this.slotCache);
    await clearRouteJournal(this.paths);
    this.routeFilesBehind = false;
  }

  /**
   * Applies a change that is already in the files to the running HAProxy. Without a running HAProxy
   * the files are enough. When the runtime API fails, the files are checked and HAProxy is
   * reloaded. When the check fails, the files are restored, `revert` undoes what the runtime API
   * may have applied (best effort), and the error names the problem.
   */
  private async applyAtRuntime(
    fields: Record<string, unknown>,
    change: FileChange,
    apply: (() => Promise<void>) | undefined,
    signal: AbortSignal | undefined,
    revert?: () => Promise<void>,
  ): Promise<void> {
    if (this.process?.running !== true) {
      this.logger.info(fields, 'change stored; proxy not running');
      return;
    }

    const startedAt = Date.now();
    try {
      if (apply === undefined) {
        this.logger.info(fields, 'change needs a reload: the backend structure changed');
      } else {
        await apply();
        this.logger.info({ ...fields, duration_ms: Date.now() - startedAt }, 'change applied');
        return;
      }
    } catch (err) {
      if (signal?.aborted) {
        // Restoring keeps the files in step with what HAProxy had before, so a retry applies the change again.
        await change.restore();
        this.logger.info({ ...fields }, 'change aborted; files restored');
        throw err;
      }
      if (this.process?.running !== true) {
        this.logger.warn({ ...fields, err }, 'proxy stopped during change; change stored');
        return;
      }
      this.logger.warn({ ...fields, err }, 'runtime api failed; reloading');
    }

    try {
      // A reload loads every route from the files, so the routes applied at run time only are written first.
      await this.writeDeferredFiles();
      await checkConfiguration(this.settings.binary, this.paths.configFile, signal);
    } catch (err) {
      await change.restore();
      if (signal?.aborted) throw err;
      this.logger.error({ ...fields, err }, 'change rejected; files restored');
      await revert?.().catch((revertError: unknown) => {
        this.logger.warn({ ...fields, err: revertError }, 'runtime cleanup after rejected change failed');
      });
      const detail = (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '');
      throw new Error(
        `${String(fields.change)} failed: ${detail}. The files were restored and HAProxy keeps its previous configuration.`,
        { cause: err },
      );
    }
    await this.reloadNow(signal, true);
  }

  private async reloadNow(signal?: AbortSignal, checked = false): Promise<void> {
    const current = this.process;
    if (current?.running !== true) throw new Error('HAProxy is not running; call start() before reload()');
    const startedAt = Date.now();
    try {
      if (!checked) await checkConfiguration(this.settings.binary, this.paths.configFile, signal);
      await current.reload(signal);
      this.loadedStructures = renderHaproxyConfig(this.configOptions, await this.currentTable(), this.slotCache).slotStructures;
    } catch (err) {
      this.logger.error({ err, haproxy_pid: current.pid }, 'proxy reload failed');
      throw err;
    }
    this.logger.info(
      { haproxy_pid: current.pid, worker_pids: current.workerPids, duration_ms: Date.now() - startedAt },
      'proxy reloaded',
    );
  }

  private async currentTable(): Promise<RouteTable> {
    this.routeTable ??= await readRouteTable(this.paths, this.logger);
    return this.routeTable;
  }

  /**
   * Makes `table` (already in the files) current and runs `apply`. A reload inside `apply` renders
   * from it. When `apply` fails the files may have been restored, so the next change reads them again.
   */
  private async commitTable(table: RouteTable, apply: () => Promise<void>): Promise<void> {
    this.routeTable = table;
    try {
      await apply();
    } catch (err) {
      this.routeTable = undefined;
      throw err;
    }
  }

  /**
   * Stops an HAProxy that an earlier daemon started with the same configuration file and left
   * running, because a daemon killed with SIGKILL cannot stop its child. Then throws when any
   * HAProxy still responds on the admin socket, since that one is not ours to stop.
   */
  private async replaceLeftoverInstance(signal?: AbortSignal): Promise<void> {
    const graceMs = this.settings.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    const stopped = await stopLeftoverMaster(this.paths.pidFile, this.ownerFile, this.settings.binary, this.paths.configFile, graceMs);
    if (stopped !== null) {
      this.logger.warn({ haproxy_pid: stopped.pid, killed: stopped.killed, pid_file: this.paths.pidFile }, 'stopped the haproxy left running by an earlier daemon; starting a new one');
    }

    const probe = new RuntimeApiClient(this.paths.adminSocket, { timeoutMs: 1000 });
    // The old worker may take a moment to leave after its master; it must be gone before the new bind.
    const deadline = Date.now() + (stopped === null ? 0 : graceMs);
    for (;;) {
      const output = await probe.send({ command: 'show info' }, { signal }).catch(() => undefined);
      if (output === undefined) return;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pidFile = (await readFileIfExists(this.paths.pidFile))?.trim() ?? 'unknown';
    throw new Error(
      `another HAProxy already responds on ${this.paths.adminSocket}, and the pid file ${this.paths.pidFile} (${pidFile}) names no HAProxy running ${this.paths.configFile}; stop that HAProxy before starting the ingress`,
    );
  }

  /**
   * Like serialize(), but creates the directories first, so changes work before the first
   * start(), and first writes the route files that lag behind (unless `writeLagging` is false),
   * because a change that fails restores the files as they were before it.
   */
  private serializeChange<T>(task: () => Promise<T>, writeLagging = true): Promise<T> {
    return this.serialize(async () => {
      if (!this.directoriesReady) {
        await ensureDirectories(this.paths);
        this.directoriesReady = true;
      }
      if (writeLagging) await this.writeDeferredFiles();
      return task();
    });
  }

  /** Runs `task` after every earlier task, so changes never interleave. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
