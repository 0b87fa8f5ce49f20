import { execFile } from 'node:child_process';

/**
 * Optional features of the installed HAProxy build, read from `haproxy -vv`. Its "Feature list" line
 * names each optional feature with `+` (built in) or `-` (left out), for example `+LUA -QUIC` in
 * Debian 12's HAProxy 2.6.12.
 */

export interface HaproxyBuild {
  /** Version from the first line, such as `2.6.12-1+deb12u4`; null when the output has none. */
  version: string | null;
  /** Features marked `+`, upper case. */
  features: ReadonlySet<string>;
}

export interface Http3Status {
  available: boolean;
  /** A sentence for the log and the status view. */
  message: string;
}

export function parseHaproxyBuild(output: string): HaproxyBuild {
  const version = /^HA-?Proxy version (\S+)/m.exec(output)?.[1] ?? null;
  const features = new Set<string>();
  const line = /^Feature list\s*:\s*(.*)$/m.exec(output)?.[1] ?? '';
  for (const word of line.split(/\s+/)) {
    if (word.startsWith('+') && word.length > 1) features.add(word.slice(1).toUpperCase());
  }
  return { version, features };
}

/** Runs `<binary> -vv` and parses it; throws when HAProxy cannot be run. */
export function readHaproxyBuild(binary: string, signal?: AbortSignal): Promise<HaproxyBuild> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-vv'], { timeout: 10_000, signal, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`${binary} -vv failed: ${err.message}; check proxy.binary in the settings file`, { cause: err }));
        return;
      }
      resolve(parseHaproxyBuild(`${stdout}\n${stderr}`));
    });
  });
}

/** Reports whether HTTP/3 can be served with `build`, as a plain sentence for the log and status. */
export function http3Status(build: HaproxyBuild): Http3Status {
  if (build.features.has('QUIC')) return { available: true, message: `HTTP/3 is served over QUIC (HAProxy ${build.version ?? 'of unknown version'} is built with QUIC)` };
  return {
    available: false,
    message: `HTTP/3 is not available: this HAProxy build (${build.version ?? 'unknown version'}) has no QUIC support (haproxy -vv lists -QUIC); clients use HTTP/2 and HTTP/1.1`,
  };
}
