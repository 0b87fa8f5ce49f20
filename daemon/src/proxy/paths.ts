import { join, resolve } from 'node:path';

import { assertCertificateId, assertSafePath, isHostname } from './validation.js';

const WILDCARD_PREFIX = '*.';
/** Replaces `*.` in file names. assertHostname() rejects `_`, so no host name can produce the same file name. */
const WILDCARD_FILE_PREFIX = '_wildcard.';
const CERTIFICATE_SUFFIX = '.pem';

/** Absolute paths of every file the ingress reads or writes. */
export interface ProxyPaths {
  configDir: string;
  runDir: string;
  configFile: string;
  /** Host → backend name. */
  mapFile: string;
  /** Hosts served over plain HTTP instead of redirected (value `1`). */
  plainHttpMapFile: string;
  /** Host → `<max-age>:<0|1 includeSubDomains>`. */
  hstsMapFile: string;
  /** Host → tunnel timeout in milliseconds. */
  tunnelMapFile: string;
  /** Hosts whose DNS record Cloudflare proxies (value `1`). */
  cloudflareMapFile: string;
  /** Networks whose CF-Connecting-IP header is trusted, one per line. */
  trustedProxiesFile: string;
  /** Hosts whose guests are all stopped (value `1`), answered with the guest-stopped page. */
  guestStoppedMapFile: string;
  /** The sign-in gate's Lua script, loaded with `lua-load`. */
  authGateScript: string;
  /** Installed error pages, `<name>.http` (see error-pages/pages.ts). */
  errorPagesDir: string;
  /** The ingress's record of every route and its options. */
  routesFile: string;
  /** Route changes applied at run time and not yet in routesFile, one JSON line each. */
  routeJournalFile: string;
  crtListFile: string;
  certDir: string;
  fallbackCertificate: string;
  adminSocket: string;
  masterSocket: string;
  pidFile: string;
}

/** Longest path a unix socket can bind on Linux (`sun_path` is 108 bytes including the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** Builds the paths under `configDir` and `runDir`; throws if either cannot be written unquoted or is too long. */
export function buildProxyPaths(configDir: string, runDir: string): ProxyPaths {
  const config = resolve(configDir);
  const run = resolve(runDir);
  assertSafePath(config, 'configDir');
  assertSafePath(run, 'runDir');

  const paths: ProxyPaths = {
    configDir: config,
    runDir: run,
    configFile: join(config, 'haproxy.cfg'),
    mapFile: join(config, 'hosts.map'),
    plainHttpMapFile: join(config, 'plain-http.map'),
    hstsMapFile: join(config, 'hsts.map'),
    tunnelMapFile: join(config, 'tunnel-timeout.map'),
    cloudflareMapFile: join(config, 'cloudflare-proxied.map'),
    trustedProxiesFile: join(config, 'cloudflare-ranges.lst'),
    guestStoppedMapFile: join(config, 'guest-stopped.map'),
    authGateScript: join(config, 'auth-gate.lua'),
    errorPagesDir: join(config, 'error-pages'),
    routesFile: join(config, 'routes.json'),
    routeJournalFile: join(config, 'routes.journal'),
    crtListFile: join(config, 'crt-list'),
    certDir: join(config, 'certs'),
    fallbackCertificate: join(config, 'fallback.pem'),
    adminSocket: join(run, 'admin.sock'),
    masterSocket: join(run, 'master.sock'),
    pidFile: join(run, 'haproxy.pid'),
  };

  for (const socket of [paths.adminSocket, paths.masterSocket]) {
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `runDir ${run} is too long: the socket path ${socket} exceeds ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter runDir`,
      );
    }
  }
  return paths;
}

/**
 * Returns the file name that stores certificate `id`: `app.example.com.pem`, or
 * `_wildcard.example.com.pem` for `*.example.com`. This is the only function that turns an id into
 * a file name. It throws for any id that is not a valid certificate id, so no id can add a path
 * separator, `..`, a NUL, white space or a quote.
 */
export function certificateFileName(id: string): string {
  assertCertificateId(id);
  const base = id.startsWith(WILDCARD_PREFIX) ? WILDCARD_FILE_PREFIX + id.slice(WILDCARD_PREFIX.length) : id;
  return base + CERTIFICATE_SUFFIX;
}

/** Returns the id stored in `fileName`, or undefined when the name was not built by certificateFileName(). */
export function certificateIdFromFileName(fileName: string): string | undefined {
  if (!fileName.endsWith(CERTIFICATE_SUFFIX)) return undefined;
  const base = fileName.slice(0, -CERTIFICATE_SUFFIX.length);
  const wildcard = base.startsWith(WILDCARD_FILE_PREFIX);
  const host = wildcard ? base.slice(WILDCARD_FILE_PREFIX.length) : base;
  if (!isHostname(host)) return undefined;
  return wildcard ? WILDCARD_PREFIX + host : host;
}

/** Returns the absolute path of the file that stores certificate `id`. */
export function certificatePath(paths: ProxyPaths, id: string): string {
  return join(paths.certDir, certificateFileName(id));
}
