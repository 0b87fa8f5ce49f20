import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { AppError } from './errors.js';

/** Node-local settings of the daemon, read from one JSON file (a conffile of the package). */
export interface DaemonConfig {
  /** Name of this PVE cluster; written into the ownership comment of every DNS record. */
  clusterName: string;
  /** Desired state and observed status (the cluster filesystem on a PVE node). */
  stateDir: string;
  /** Secrets: Cloudflare credentials, ACME account keys, certificate keys (root-only). */
  secretsDir: string;
  /** Runtime files: the API socket, HAProxy sockets. */
  runDir: string;
  api: {
    /** Unix socket of the API, root-only, used by the CLI. */
    socket: string;
    /** HTTPS listener for the PVE web UI and automation, or null to serve the unix socket only. */
    listen: { address: string; port: number } | null;
    /** Certificate chain and key of the HTTPS listener; null takes the files pveproxy serves. */
    tlsCertFile: string | null;
    tlsKeyFile: string | null;
    /** Browser origins, besides `https://<host>:8006`, that may call the API with credentials. */
    corsOrigins: string[];
    /** PVE's `pve-www.key`, from which PVE derives the secret of its CSRF tokens. */
    csrfKeyFile: string;
    /** CA that signs pveproxy's certificate, for the privilege lookups; null trusts the system CAs. */
    pveCaFile: string | null;
    /** How long the privileges of a ticket or token are reused before pveproxy is asked again. */
    permissionsCacheMs: number;
  };
  pve: {
    /** Base URL of the PVE API, without /api2/json. */
    url: string;
    /** API token id, `user@realm!name`. */
    tokenId: string;
    /** File holding the token secret (a UUID). */
    tokenSecretFile: string;
    /** Time after which one PVE API request is abandoned. */
    requestTimeoutMs: number;
  };
  dns: {
    /** Resolvers (`address` or `address:port`) used to find a zone's name servers; empty = system. */
    resolvers: string[];
    /** Port on which the zone's authoritative name servers are asked. */
    authoritativePort: number;
    /** How long to wait for a TXT record to appear at every authoritative server. */
    propagationTimeoutMs: number;
    /** Interval between two propagation checks. */
    propagationIntervalMs: number;
  };
  cloudflare: {
    apiBaseUrl: string;
    /** Time after which one Cloudflare API request attempt is abandoned (the SDK retries twice). */
    requestTimeoutMs: number;
  };
  acme: {
    /** Extra CA to trust for ACME directories (a private CA), or null. */
    caFile: string | null;
    /** Shortest and longest wait between polls of an order, challenge or authorization. */
    pollMinMs: number;
    pollMaxMs: number;
    /** Time after which one request to the CA is abandoned; without it a silent CA stalls the order. */
    requestTimeoutMs: number;
  };
  certificates: {
    /** Interval of the renewal pass over every stored certificate. */
    renewalCheckIntervalMs: number;
    /** Bounds of the per-certificate backoff after a failed order. */
    backoffMinMs: number;
    backoffMaxMs: number;
    /** Failures at one CA before the next fallback issuer of the domain is tried. */
    failuresBeforeFallback: number;
    /** sendmail binary used for expiry warnings to root and the ACME email. */
    sendmailPath: string;
    /** Ask the CA to validate after the propagation timeout when every missing server was unreachable. */
    validateWhenDnsUnreachable: boolean;
  };
  site: {
    name: string;
    /**
     * Public addresses the service DNS records point at. Empty means the default site, when it is
     * first created, takes the addresses of this node's default-route interface from PVE.
     */
    addresses: string[];
  };
  proxy: {
    binary: string;
    configDir: string;
    httpBind: { address: string; port: number };
    httpsBind: { address: string; port: number };
    /** Port written into HTTP→HTTPS redirects when the HTTPS port is not 443. */
    httpsRedirectPort: number | null;
    /** Administrator's replacement error pages, `<name>.http` or `<name>.html` (see proxy/error-pages/pages.ts). */
    errorPagesDir: string;
  };
  cluster: {
    /** PVE name of this node; the host name when absent. */
    nodeName: string;
    /** Folder of cluster lock directories; null derives `<parent of stateDir>/priv/lock` (/etc/pve/priv/lock). */
    lockDir: string | null;
    /** Age of a lock directory's mtime after which it is stale; pmxcfs fixes this at 120 s. */
    lockStaleMs: number;
    /** Interval at which the work lock holder refreshes it and the other nodes try to take it. */
    workLockRefreshMs: number;
    /** Interval at which the shared state is re-read for changes made on other nodes. */
    pollIntervalMs: number;
    /**
     * Addresses this node's proxy connects to guests from; guest firewall rules accept them.
     * Empty means the addresses of this node's default-route interface, read from PVE at start.
     */
    ingressAddresses: string[];
  };
  notify: {
    /** sendmail binary for notification mail. */
    sendmailPath: string;
    /** Recipients of notification mail; PVE turns mail to root into a notification. */
    mailTo: string[];
    /** Minimum time between two notifications of one event about one object. */
    repeatIntervalMs: number;
    /** Failed orders in a row from which a certificate's failures are notified. */
    renewalFailureThreshold: number;
    /** Time left below which a certificate is notified as expiring, capped at a quarter of its lifetime. */
    expiringSoonMs: number;
    /** Interval of the expiry and backend checks. */
    checkIntervalMs: number;
    /** Checks in a row that must see every target of a service down before it is notified. */
    backendDownChecks: number;
    /** Time allowed for one webhook attempt, attempts in total, and the wait before the second. */
    webhookTimeoutMs: number;
    webhookAttempts: number;
    webhookRetryDelayMs: number;
    /** PEM CA file trusted for webhook receivers besides the system CAs, or null. */
    webhookCaFile: string | null;
    /** Node-local file keeping the last send time of each event and object across restarts. */
    stateFile: string;
  };
  tasks: {
    /** Node-local folder of the task list and task logs. */
    dir: string;
    /** Finished tasks kept; older ones are removed with their logs. */
    keep: number;
  };
  reconcile: {
    /** Interval of the full resynchronisation pass. */
    resyncIntervalMs: number;
    /** Bounds of the per-object retry backoff. */
    retryMinMs: number;
    retryMaxMs: number;
  };
}

export const defaultConfigPath = '/etc/pve-domains/pve-domainsd.json';

type JsonObject = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new AppError('CONFIG_INVALID', `Invalid configuration: ${path} ${message}; fix it in the configuration file and restart pve-domainsd`, {
    retryable: false,
  });
}

function objectAt(parent: JsonObject, key: string, path: string): JsonObject {
  const value = parent[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path}${key}`, 'must be an object');
  return value as JsonObject;
}

function stringAt(parent: JsonObject, key: string, path: string, fallback?: string): string {
  const value = parent[key] ?? fallback;
  if (typeof value !== 'string' || value === '') fail(`${path}${key}`, 'must be a non-empty string');
  return value;
}

function nullableStringAt(parent: JsonObject, key: string, path: string): string | null {
  const value = parent[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '') fail(`${path}${key}`, 'must be a non-empty string or null');
  return value;
}

function integerAt(parent: JsonObject, key: string, path: string, fallback: number, min: number, max: number): number {
  const value = parent[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${path}${key}`, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function booleanAt(parent: JsonObject, key: string, path: string, fallback: boolean): boolean {
  const value = parent[key] ?? fallback;
  if (typeof value !== 'boolean') fail(`${path}${key}`, 'must be true or false');
  return value;
}

function stringListAt(parent: JsonObject, key: string, path: string): string[] {
  const value = parent[key] ?? [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) fail(`${path}${key}`, 'must be a list of non-empty strings');
  return value as string[];
}

function addressListAt(parent: JsonObject, key: string, path: string): string[] {
  const value = parent[key] ?? [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || isIP(item) === 0)) {
    fail(`${path}${key}`, 'must be a list of IPv4 or IPv6 addresses');
  }
  return value as string[];
}

function bindAt(parent: JsonObject, key: string, path: string, fallbackPort: number): { address: string; port: number } {
  const bind = objectAt(parent, key, path);
  const address = stringAt(bind, 'address', `${path}${key}.`, '0.0.0.0');
  if (isIP(address) === 0) fail(`${path}${key}.address`, 'must be an IPv4 or IPv6 address');
  return { address, port: integerAt(bind, 'port', `${path}${key}.`, fallbackPort, 1, 65535) };
}

/** Validates a parsed configuration document and fills in the defaults. */
export function parseConfig(document: unknown): DaemonConfig {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) fail('the document', 'must be a JSON object');
  const root = document as JsonObject;
  const runDir = stringAt(root, 'runDir', '', '/run/pve-domains');
  const api = objectAt(root, 'api', '');
  const pve = objectAt(root, 'pve', '');
  const dns = objectAt(root, 'dns', '');
  const cloudflare = objectAt(root, 'cloudflare', '');
  const acme = objectAt(root, 'acme', '');
  const certificates = objectAt(root, 'certificates', '');
  const site = objectAt(root, 'site', '');
  const proxy = objectAt(root, 'proxy', '');
  const reconcile = objectAt(root, 'reconcile', '');
  const notify = objectAt(root, 'notify', '');
  const tasks = objectAt(root, 'tasks', '');
  const cluster = objectAt(root, 'cluster', '');
  const resolvers = dns['resolvers'] ?? [];
  if (!Array.isArray(resolvers) || resolvers.some((item) => typeof item !== 'string')) fail('dns.resolvers', 'must be a list of strings');
  const redirectPort = proxy['httpsRedirectPort'];

  const config: DaemonConfig = {
    clusterName: stringAt(root, 'clusterName', ''),
    stateDir: stringAt(root, 'stateDir', '', '/etc/pve/pve-domains'),
    secretsDir: stringAt(root, 'secretsDir', '', '/etc/pve/priv/pve-domains'),
    runDir,
    api: {
      socket: stringAt(api, 'socket', 'api.', `${runDir}/api.sock`),
      listen: api['listen'] === null ? null : bindAt(api, 'listen', 'api.', 8016),
      tlsCertFile: nullableStringAt(api, 'tlsCertFile', 'api.'),
      tlsKeyFile: nullableStringAt(api, 'tlsKeyFile', 'api.'),
      corsOrigins: stringListAt(api, 'corsOrigins', 'api.'),
      csrfKeyFile: stringAt(api, 'csrfKeyFile', 'api.', '/etc/pve/pve-www.key'),
      pveCaFile: api['pveCaFile'] === null ? null : stringAt(api, 'pveCaFile', 'api.', '/etc/pve/pve-root-ca.pem'),
      permissionsCacheMs: integerAt(api, 'permissionsCacheMs', 'api.', 15_000, 0, 300_000),
    },
    pve: {
      url: stringAt(pve, 'url', 'pve.', 'https://127.0.0.1:8006'),
      tokenId: stringAt(pve, 'tokenId', 'pve.'),
      tokenSecretFile: stringAt(pve, 'tokenSecretFile', 'pve.'),
      requestTimeoutMs: integerAt(pve, 'requestTimeoutMs', 'pve.', 15_000, 100, 300_000),
    },
    dns: {
      resolvers: resolvers as string[],
      authoritativePort: integerAt(dns, 'authoritativePort', 'dns.', 53, 1, 65535),
      propagationTimeoutMs: integerAt(dns, 'propagationTimeoutMs', 'dns.', 300_000, 100, 3_600_000),
      propagationIntervalMs: integerAt(dns, 'propagationIntervalMs', 'dns.', 2_000, 10, 60_000),
    },
    cloudflare: {
      apiBaseUrl: stringAt(cloudflare, 'apiBaseUrl', 'cloudflare.', 'https://api.cloudflare.com/client/v4'),
      requestTimeoutMs: integerAt(cloudflare, 'requestTimeoutMs', 'cloudflare.', 30_000, 100, 300_000),
    },
    acme: {
      caFile: nullableStringAt(acme, 'caFile', 'acme.'),
      pollMinMs: integerAt(acme, 'pollMinMs', 'acme.', 1_000, 10, 60_000),
      pollMaxMs: integerAt(acme, 'pollMaxMs', 'acme.', 30_000, 10, 600_000),
      requestTimeoutMs: integerAt(acme, 'requestTimeoutMs', 'acme.', 30_000, 100, 300_000),
    },
    certificates: {
      renewalCheckIntervalMs: integerAt(certificates, 'renewalCheckIntervalMs', 'certificates.', 3_600_000, 100, 86_400_000),
      backoffMinMs: integerAt(certificates, 'backoffMinMs', 'certificates.', 60_000, 10, 86_400_000),
      backoffMaxMs: integerAt(certificates, 'backoffMaxMs', 'certificates.', 86_400_000, 10, 604_800_000),
      failuresBeforeFallback: integerAt(certificates, 'failuresBeforeFallback', 'certificates.', 3, 1, 100),
      sendmailPath: stringAt(certificates, 'sendmailPath', 'certificates.', '/usr/sbin/sendmail'),
      validateWhenDnsUnreachable: booleanAt(certificates, 'validateWhenDnsUnreachable', 'certificates.', true),
    },
    site: {
      name: stringAt(site, 'name', 'site.', 'default'),
      addresses: addressListAt(site, 'addresses', 'site.'),
    },
    proxy: {
      binary: stringAt(proxy, 'binary', 'proxy.', '/usr/sbin/haproxy'),
      configDir: stringAt(proxy, 'configDir', 'proxy.', '/var/lib/pve-domains/haproxy'),
      httpBind: bindAt(proxy, 'httpBind', 'proxy.', 80),
      httpsBind: bindAt(proxy, 'httpsBind', 'proxy.', 443),
      httpsRedirectPort: redirectPort === undefined || redirectPort === null ? null : integerAt(proxy, 'httpsRedirectPort', 'proxy.', 443, 1, 65535),
      errorPagesDir: stringAt(proxy, 'errorPagesDir', 'proxy.', '/etc/pve-domains/error-pages'),
    },
    cluster: {
      nodeName: stringAt(cluster, 'nodeName', 'cluster.', hostname().split('.')[0]),
      lockDir: nullableStringAt(cluster, 'lockDir', 'cluster.'),
      lockStaleMs: integerAt(cluster, 'lockStaleMs', 'cluster.', 120_000, 1_000, 3_600_000),
      workLockRefreshMs: integerAt(cluster, 'workLockRefreshMs', 'cluster.', 10_000, 100, 600_000),
      pollIntervalMs: integerAt(cluster, 'pollIntervalMs', 'cluster.', 5_000, 100, 600_000),
      ingressAddresses: addressListAt(cluster, 'ingressAddresses', 'cluster.'),
    },
    notify: {
      sendmailPath: stringAt(notify, 'sendmailPath', 'notify.', '/usr/sbin/sendmail'),
      mailTo: notify['mailTo'] === undefined ? ['root'] : stringListAt(notify, 'mailTo', 'notify.'),
      repeatIntervalMs: integerAt(notify, 'repeatIntervalMs', 'notify.', 21_600_000, 0, 604_800_000),
      renewalFailureThreshold: integerAt(notify, 'renewalFailureThreshold', 'notify.', 3, 1, 100),
      expiringSoonMs: integerAt(notify, 'expiringSoonMs', 'notify.', 604_800_000, 0, 7_776_000_000),
      checkIntervalMs: integerAt(notify, 'checkIntervalMs', 'notify.', 60_000, 100, 86_400_000),
      backendDownChecks: integerAt(notify, 'backendDownChecks', 'notify.', 2, 1, 100),
      webhookTimeoutMs: integerAt(notify, 'webhookTimeoutMs', 'notify.', 10_000, 100, 120_000),
      webhookAttempts: integerAt(notify, 'webhookAttempts', 'notify.', 3, 1, 10),
      webhookRetryDelayMs: integerAt(notify, 'webhookRetryDelayMs', 'notify.', 2_000, 10, 600_000),
      webhookCaFile: nullableStringAt(notify, 'webhookCaFile', 'notify.'),
      stateFile: stringAt(notify, 'stateFile', 'notify.', '/var/lib/pve-domains/notifications.json'),
    },
    tasks: {
      dir: stringAt(tasks, 'dir', 'tasks.', '/var/lib/pve-domains/tasks'),
      keep: integerAt(tasks, 'keep', 'tasks.', 200, 1, 10_000),
    },
    reconcile: {
      resyncIntervalMs: integerAt(reconcile, 'resyncIntervalMs', 'reconcile.', 300_000, 1_000, 86_400_000),
      retryMinMs: integerAt(reconcile, 'retryMinMs', 'reconcile.', 5_000, 10, 3_600_000),
      retryMaxMs: integerAt(reconcile, 'retryMaxMs', 'reconcile.', 3_600_000, 10, 86_400_000),
    },
  };
  if (config.cluster.workLockRefreshMs >= config.cluster.lockStaleMs) fail('cluster.workLockRefreshMs', `must be shorter than cluster.lockStaleMs (${config.cluster.lockStaleMs}), or the work lock goes stale between two refreshes`);
  return config;
}

/** Reads and validates the configuration file at `path`. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Unable to read the configuration file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Unable to parse the configuration file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(document);
}
