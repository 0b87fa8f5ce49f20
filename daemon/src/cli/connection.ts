import { existsSync, readFileSync, statSync } from 'node:fs';
import { defaultConfigPath } from '../config.js';
import type { GlobalOptions } from './arguments.js';
import { UsageError } from './errors.js';

/**
 * Where the CLI sends its requests: the daemon's root-only unix socket on a node (no
 * credentials, the daemon treats the caller as root), or a daemon's HTTPS API with a PVE API
 * token from `PVE_DOMAINS_TOKEN` or a file only its owner can read.
 */

export type Endpoint =
  | { kind: 'socket'; socket: string }
  | { kind: 'https'; host: string; port: number; token: string; ca: Buffer | undefined; caFile: string | undefined };

export const defaultSocket = '/run/pve-domains/api.sock';
/** The daemon's HTTPS port (pve-domainsd's default `api.listen.port`). */
export const defaultApiPort = 8016;
/** The cluster CA that signs pveproxy's certificates on PVE nodes. */
export const defaultCaFile = '/etc/pve/pve-root-ca.pem';

/** Socket from --socket, PVE_DOMAINS_SOCKET, the daemon's settings file, or the packaged default. */
export function resolveSocket(option: string | undefined, env: NodeJS.ProcessEnv): string {
  if (option !== undefined) return option;
  const fromEnvironment = env['PVE_DOMAINS_SOCKET'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  try {
    const config = JSON.parse(readFileSync(env['PVE_DOMAINS_CONFIG'] ?? defaultConfigPath, 'utf8')) as { api?: { socket?: unknown }; runDir?: unknown };
    if (typeof config.api?.socket === 'string') return config.api.socket;
    if (typeof config.runDir === 'string') return `${config.runDir}/api.sock`;
  } catch {
    // No readable settings file: the packaged default applies.
  }
  return defaultSocket;
}

/** Parses `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`. */
export function parseHost(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  if (match === null) throw new UsageError(`--host "${text}" is not HOST or HOST:PORT; write an IPv6 address in brackets, as [2001:db8::1]:8016`);
  const port = match[3] === undefined ? defaultApiPort : Number(match[3]);
  if (port < 1 || port > 65535) throw new UsageError(`--host "${text}": port ${port} is outside 1-65535`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/** Checks PVE's token form `USER@REALM!TOKENID=SECRET` (pveum user token add). */
export function parseToken(text: string, source: string): string {
  const token = text.trim();
  if (!/^[^\s@!=]+@[A-Za-z][A-Za-z0-9._-]*![A-Za-z][A-Za-z0-9._-]*=\S+$/.test(token)) {
    throw new UsageError(`${source} is not an API token of the form USER@REALM!TOKENID=SECRET, such as automation@pve!cli=<uuid> (from pveum user token add)`);
  }
  return token;
}

/** Reads a token file, rejecting one that others than its owner can read or that belongs to another user. */
export function readTokenFile(path: string): string {
  let mode: number;
  let uid: number;
  try {
    ({ mode, uid } = statSync(path));
  } catch (err) {
    throw new UsageError(`unable to read the token file ${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new UsageError(`the token file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${path}`);
  }
  if (process.getuid !== undefined && uid !== process.getuid()) {
    throw new UsageError(`the token file ${path} belongs to uid ${uid}, not to you (uid ${process.getuid()}); use a file of your own`);
  }
  return parseToken(readFileSync(path, 'utf8').split('\n')[0] ?? '', `the first line of ${path}`);
}

/** Builds the endpoint from the global options and the environment. */
export function resolveEndpoint(globals: GlobalOptions, env: NodeJS.ProcessEnv): Endpoint {
  if (globals.host === undefined) {
    for (const [option, value] of [['--token-file', globals.tokenFile], ['--ca', globals.ca]] as const) {
      if (value !== undefined) throw new UsageError(`${option} applies only with --host; the unix socket needs no credentials`);
    }
    return { kind: 'socket', socket: resolveSocket(globals.socket, env) };
  }
  if (globals.socket !== undefined) throw new UsageError('--socket and --host are both given; give one of them');

  const { host, port } = parseHost(globals.host);
  const fromEnvironment = env['PVE_DOMAINS_TOKEN'];
  let token: string;
  if (globals.tokenFile !== undefined) token = readTokenFile(globals.tokenFile);
  else if (fromEnvironment !== undefined && fromEnvironment !== '') token = parseToken(fromEnvironment, 'PVE_DOMAINS_TOKEN');
  else throw new UsageError('--host needs an API token: set PVE_DOMAINS_TOKEN=USER@REALM!TOKENID=SECRET or pass --token-file FILE (mode 0600)');

  // Without --ca, the cluster CA is used where it exists (on a node); elsewhere Node's bundled CAs apply.
  const caFile = globals.ca ?? (existsSync(defaultCaFile) ? defaultCaFile : undefined);
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new UsageError(`unable to read the CA file ${caFile}: ${(err as Error).message}`);
    }
  }
  return { kind: 'https', host, port, token, ca, caFile };
}

export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === 'socket' ? endpoint.socket : `https://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}
