import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { findFreePort } from './ports.js';
import { startProcess, waitFor, type SandboxProcess } from './processes.js';
import { makeListenerCertificate } from './tls.js';

export interface PebbleOptions {
  dir: string;
  /** The DNS server Pebble resolves DNS-01 records through, `address:port`. */
  dnsServer: string;
  binary?: string;
  /** Lifetime of issued certificates in seconds; Pebble's default is 5 years. */
  validitySeconds?: number;
  /**
   * External Account Binding keys, key id to base64url HMAC key. When given, Pebble refuses
   * new accounts without a binding to one of them.
   */
  eabKeys?: Record<string, string>;
}

export interface RunningPebble {
  directoryUrl: string;
  /** CA file that makes Pebble's own HTTPS listener trusted. */
  listenerCaFile: string;
  /** Certificate and key of Pebble's own HTTPS listener (valid for 127.0.0.1). */
  listenerCertFile: string;
  listenerKeyFile: string;
  /** Pebble's issuing root, regenerated at every start. */
  rootFile: string;
  /** Number of newOrder requests Pebble has logged so far. */
  countOrders(): Promise<number>;
  stop(): Promise<void>;
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Starts Debian's Pebble on 127.0.0.1 with deterministic settings for tests. */
export async function startPebble(options: PebbleOptions): Promise<RunningPebble> {
  const listener = await makeListenerCertificate(options.dir, 'pebble');
  const [acmePort, managementPort, httpPort, tlsPort] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()];
  const configFile = join(options.dir, 'pebble-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: listener.certFile,
        privateKey: listener.keyFile,
        // Ports Pebble would connect to for http-01 and tls-alpn-01; the sandbox uses dns-01 only.
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: options.eabKeys !== undefined,
        ...(options.eabKeys === undefined ? {} : { externalAccountMACKeys: options.eabKeys }),
        ...(options.validitySeconds === undefined ? {} : { certificateValidityPeriod: options.validitySeconds }),
      },
    }),
  );
  const logFile = join(options.dir, 'pebble.log');
  const process: SandboxProcess = startProcess('pebble', options.binary ?? '/usr/bin/pebble', ['-config', configFile, '-dnsserver', options.dnsServer], logFile, {
    env: {
      PATH: '/usr/bin:/bin',
      // Validate at once instead of after a random 0-15 s sleep, never reject a good nonce, and
      // never reuse an authorization, so that every order runs the DNS-01 flow.
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
    },
  });
  const ca = await readFile(listener.caFile, 'utf8');
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  try {
    await waitFor('pebble directory', async () => (await httpsGet(directoryUrl, ca)).status === 200, 15_000);
  } catch (err) {
    await process.stop();
    throw err;
  }
  const root = await httpsGet(`https://127.0.0.1:${managementPort}/roots/0`, ca);
  const rootFile = join(options.dir, 'pebble-root.pem');
  await writeFile(rootFile, root.body);
  return {
    directoryUrl,
    listenerCaFile: listener.caFile,
    listenerCertFile: listener.certFile,
    listenerKeyFile: listener.keyFile,
    rootFile,
    async countOrders(): Promise<number> {
      const log = await readFile(logFile, 'utf8');
      return log.split('\n').filter((line) => line.includes('POST /order-plz')).length;
    },
    stop: () => process.stop(),
  };
}
