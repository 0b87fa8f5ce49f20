// @peculiar/x509 2.x resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
  type X509Certificate,
} from '@peculiar/x509';
import { pino, type Logger } from 'pino';

import { HaproxyIngress, type HaproxyDependencies, type HaproxySettings } from '../../daemon/src/proxy/haproxy.js';
import { findFreePort } from '../sandbox/ports.js';

/** Shared helpers for the proxy tests: a test CA, loopback HTTP targets, HTTP(S) clients, process checks. */

const crypto = webcrypto;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;
const ecAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' };

export interface TestCa {
  certificate: X509Certificate;
  pem: string;
  keys: CryptoKeyPair;
}

export interface IssuedCertificate {
  chainPem: string;
  keyPem: string;
  /** Serial in upper-case hex, as Node's getPeerCertificate() reports it. */
  serial: string;
}

function randomSerial(): string {
  const serial = randomBytes(12);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x10;
  return serial.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN PRIVATE KEY-----', ...lines, '-----END PRIVATE KEY-----', ''].join('\n');
}

export async function createTestCa(): Promise<TestCa> {
  const keys = await crypto.subtle.generateKey(ecAlgorithm, true, ['sign', 'verify']);
  const certificate = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: 'CN=pve-external-domains test CA',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  return { certificate, pem: certificate.toString('pem'), keys };
}

/** Issues a leaf for `names` signed by `ca`; `rsaBits` makes an RSA key instead of EC P-256. */
export async function issueCertificate(ca: TestCa, names: string[], rsaBits?: number): Promise<IssuedCertificate> {
  const algorithm =
    rsaBits === undefined
      ? ecAlgorithm
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength: rsaBits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const serial = randomSerial();
  const leaf = await X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: `CN=${names[0] ?? 'test'}`,
      issuer: ca.certificate.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
        new BasicConstraintsExtension(false, undefined, true),
        new ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1']),
      ],
    },
    crypto,
  );
  return {
    chainPem: leaf.toString('pem') + '\n' + ca.pem + '\n',
    keyPem: await exportKeyPem(keys.privateKey),
    serial: serial.toUpperCase(),
  };
}

export interface Target {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server on `address` (a 127.0.0.x address) that returns `body` for every request. */
export async function startTarget(address: string, body: string): Promise<Target> {
  const port = await findFreePort(address);
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, resolve);
  });
  return {
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Upper-case hex serial of the certificate the server presented (HTTPS only). */
  serial?: string;
  /** Subject CN of the presented certificate (HTTPS only). */
  subjectCn?: string;
}

/** Opens a TLS connection offering `protocols` and returns the protocol the server selected. */
export function negotiateAlpn(port: number, hostname: string, protocols: string[]): Promise<string | false | null> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: hostname, ALPNProtocols: protocols, rejectUnauthorized: false });
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      const selected = socket.alpnProtocol;
      socket.end();
      resolve(selected);
    });
    socket.once('error', reject);
  });
}

export interface HttpsOptions {
  port: number;
  hostname: string;
  path?: string;
  /** CA to trust; when omitted the certificate is not verified. */
  ca?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Source address of the connection (a 127.0.0.x address). */
  localAddress?: string;
}

export function httpsGet(options: HttpsOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/',
        servername: options.hostname,
        headers: { host: options.hostname, ...options.headers },
        localAddress: options.localAddress,
        ca: options.ca,
        rejectUnauthorized: options.ca !== undefined,
        agent: false,
        timeout: 5000,
      },
      (response) => {
        const socket = response.socket as TLSSocket;
        const peer = socket.getPeerCertificate();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            serial: peer.serialNumber?.toUpperCase(),
            subjectCn: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('HTTPS request timed out')));
    request.on('error', reject);
    request.end();
  });
}

export function httpGet(port: number, host: string, path = '/'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('HTTP request timed out')));
    request.on('error', reject);
    request.end();
  });
}

/** Returns whether `pid` is a live process; zombies count as exited. */
export async function processIsRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false;
  }
}

export interface LogRecord {
  level: number;
  msg: string;
  subsystem?: string;
  [field: string]: unknown;
}

/** Creates a pino logger that keeps its records in memory. */
export function createMemoryLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') records.push(JSON.parse(line) as LogRecord);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

export interface IngressFixture {
  ingress: HaproxyIngress;
  configDir: string;
  runDir: string;
  httpPort: number;
  httpsPort: number;
  records: LogRecord[];
  /** Creates another ingress on the same directories and ports (a daemon restart). */
  recreate(dependencies?: HaproxyDependencies): HaproxyIngress;
  /** Notes the master and worker PIDs of every ingress made here, so cleanup() can check them. */
  rememberPids(): void;
  /** Starts `instance` (default: the first ingress) and notes its PIDs. */
  start(instance?: HaproxyIngress): Promise<void>;
  /** Stops every ingress made by this fixture, asserts that no HAProxy process of theirs runs, removes the directories. */
  cleanup(): Promise<number[]>;
}

/** Creates an ingress on fresh directories and free ports; call cleanup() at the end of the test. */
export async function createIngressFixture(dependencies: HaproxyDependencies = {}, settings: Partial<HaproxySettings> = {}): Promise<IngressFixture> {
  const base = await mkdtemp(join(tmpdir(), 'pxy-'));
  const configDir = join(base, 'etc');
  const runDir = join(base, 'run');
  const httpPort = await findFreePort();
  const httpsPort = await findFreePort();
  const { logger, records } = createMemoryLogger();
  const created: HaproxyIngress[] = [];
  const seenPids = new Set<number>();

  const make = (deps: HaproxyDependencies = {}): HaproxyIngress => {
    const ingress = new HaproxyIngress(
      {
        binary: '/usr/sbin/haproxy',
        configDir,
        runDir,
        httpBind: { address: '127.0.0.1', port: httpPort },
        httpsBind: { address: '127.0.0.1', port: httpsPort },
        httpsRedirectPort: httpsPort,
        logger,
        stopGraceMs: 3000,
        ...settings,
      },
      deps,
    );
    created.push(ingress);
    return ingress;
  };

  const ingress = make(dependencies);
  const rememberPids = (): void => {
    for (const instance of created) {
      if (instance.pid !== undefined) seenPids.add(instance.pid);
      for (const worker of instance.workerPids) seenPids.add(worker);
    }
  };
  return {
    ingress,
    configDir,
    runDir,
    httpPort,
    httpsPort,
    records,
    recreate: make,
    rememberPids,
    async start(instance = ingress): Promise<void> {
      await instance.start();
      rememberPids();
    },
    async cleanup(): Promise<number[]> {
      rememberPids();
      for (const instance of created) await instance.stop();
      await rm(base, { recursive: true, force: true });
      const running: number[] = [];
      for (const pid of seenPids) if (await processIsRunning(pid)) running.push(pid);
      return running;
    },
  };
}
