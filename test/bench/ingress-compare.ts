import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HaproxyIngress } from '../../daemon/src/proxy/haproxy.js';
import type { Route } from '../../daemon/src/proxy/ingress.js';
import { createMemoryLogger, createTestCa, issueCertificate } from '../proxy/fixtures.js';
import { findFreePort } from '../sandbox/ports.js';
import { NginxProcess, type NginxLayout, type NginxServerBlock } from './ingress-nginx.js';

/**
 * Ingress benchmarks, HAProxy (this project's configuration) side by side with nginx:
 *   (a) time from a route change to the first answer for the new name, with 1,000 and 10,000
 *       routes live: runtime API for HAProxy, SIGHUP reload for nginx;
 *   (b) HTTPS requests per second and p99 latency through each proxy to the same Node backend,
 *       measured with wrk on loopback.
 * Every process binds 127.0.0.1, runs for a bounded time and is stopped by its PID.
 * Run with `npm run bench:ingress`.
 */

const ROUTE_COUNTS = [1000, 10_000];
const CHANGES_PER_SIZE = 5;
const WRK_SECONDS = 5;
const WRK_CONNECTIONS = 32;

function median(values: number[]): number {
  const sorted = [...values].sort((first, second) => first - second);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function statusOf(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const outgoing = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 2000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    outgoing.on('error', () => resolve(0));
    outgoing.on('timeout', () => outgoing.destroy());
    outgoing.end();
  });
}

/** Polls until `host` answers 200 on `port`; returns the elapsed milliseconds since `startedAt`. */
async function untilServed(port: number, host: string, startedAt: number, timeoutMs = 60_000): Promise<number> {
  while ((await statusOf(port, host)) !== 200) {
    if (performance.now() - startedAt > timeoutMs) throw new Error(`${host} was not served within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - startedAt;
}

async function startBackend(): Promise<{ server: Server; port: number }> {
  const port = await findFreePort();
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    response.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port }, resolve));
  return { server, port };
}

function haproxyFor(base: string, httpPort: number, httpsPort: number): HaproxyIngress {
  return new HaproxyIngress({
    binary: '/usr/sbin/haproxy',
    configDir: join(base, 'etc'),
    runDir: join(base, 'run'),
    httpBind: { address: '127.0.0.1', port: httpPort },
    httpsBind: { address: '127.0.0.1', port: httpsPort },
    logger: createMemoryLogger().logger,
  });
}

interface RouteChangeFigures {
  routes: number;
  haproxyMs: number;
  nginxMs: number;
  haproxyWorkerUnchanged: boolean;
}

async function benchRouteChange(routes: number, backendPort: number): Promise<RouteChangeFigures> {
  const base = await mkdtemp(join(tmpdir(), 'bench-rc-'));
  const haproxyHttp = await findFreePort();
  const haproxy = haproxyFor(base, haproxyHttp, await findFreePort());
  const httpPort = await findFreePort();
  const layout: NginxLayout = { dir: join(base, 'nginx'), listen: `127.0.0.1:${httpPort}`, workers: 1 };
  let nginx: NginxProcess | undefined;
  try {
    // HAProxy: routes loaded from the files at start, then one route added at run time per sample.
    const plain = { httpsRedirect: false };
    const initial: Route[] = Array.from({ length: routes }, (_, index) => ({ hostname: `r${index}.bench.test`, targets: [{ address: '127.0.0.1', port: backendPort }], options: plain }));
    await haproxy.replaceRoutes(initial);
    await haproxy.start();
    const worker = haproxy.workerPids[0];
    const haproxySamples: number[] = [];
    for (let sample = 0; sample < CHANGES_PER_SIZE; sample++) {
      const host = `new${sample}.bench.test`;
      const startedAt = performance.now();
      await haproxy.setRoute({ hostname: host, targets: [{ address: '127.0.0.1', port: backendPort }], options: plain });
      haproxySamples.push(await untilServed(haproxyHttp, host, startedAt));
    }
    const unchanged = haproxy.workerPids[0] === worker;
    await haproxy.stop();

    // nginx: the same names as server blocks, then one block added and the master reloaded per sample.
    const blocks: NginxServerBlock[] = initial.map((route) => ({ name: route.hostname, upstream: `127.0.0.1:${backendPort}` }));
    nginx = await NginxProcess.start(layout, blocks);
    await untilServed(httpPort, 'r0.bench.test', performance.now());
    const nginxSamples: number[] = [];
    for (let sample = 0; sample < CHANGES_PER_SIZE; sample++) {
      const host = `new${sample}.bench.test`;
      blocks.push({ name: host, upstream: `127.0.0.1:${backendPort}` });
      const startedAt = performance.now();
      await nginx.reload(layout, blocks);
      nginxSamples.push(await untilServed(httpPort, host, startedAt));
    }
    return { routes, haproxyMs: median(haproxySamples), nginxMs: median(nginxSamples), haproxyWorkerUnchanged: unchanged };
  } finally {
    await haproxy.stop();
    await nginx?.stop();
    await rm(base, { recursive: true, force: true });
  }
}

interface WrkFigures {
  requestsPerSecond: number;
  p99Ms: number;
}

function runWrk(port: number, host: string): Promise<WrkFigures> {
  const args = ['-t2', `-c${WRK_CONNECTIONS}`, `-d${WRK_SECONDS}s`, '--latency', '-H', `Host: ${host}`, `https://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/wrk', args, { timeout: (WRK_SECONDS + 20) * 1000 }, (err, stdout) => {
      if (err !== null) {
        reject(new Error(`wrk failed: ${err.message}`));
        return;
      }
      const rate = /Requests\/sec:\s+([0-9.]+)/.exec(stdout)?.[1];
      const p99 = /^\s+99%\s+([0-9.]+)(us|ms|s)\s*$/m.exec(stdout);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
      if (rate === undefined || p99 === null) {
        reject(new Error(`cannot read the wrk output: ${stdout}`));
        return;
      }
      if (non2xx !== undefined) {
        reject(new Error(`wrk got ${non2xx} non-2xx answers; check the proxy configuration`));
        return;
      }
      const scale = p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1;
      resolve({ requestsPerSecond: Number(rate), p99Ms: Number(p99[1]) * scale });
    });
  });
}

async function benchThroughput(backendPort: number): Promise<{ haproxy: WrkFigures; nginx: WrkFigures }> {
  const base = await mkdtemp(join(tmpdir(), 'bench-tp-'));
  const host = 'bench.test';
  const ca = await createTestCa();
  const certificate = await issueCertificate(ca, [host]);
  const httpsPort = await findFreePort();
  const haproxy = haproxyFor(base, await findFreePort(), httpsPort);
  let nginx: NginxProcess | undefined;
  try {
    await haproxy.setCertificate(host, certificate.chainPem, certificate.keyPem);
    await haproxy.setRoute({ hostname: host, targets: [{ address: '127.0.0.1', port: backendPort }] });
    await haproxy.start();
    const haproxyFigures = await runWrk(httpsPort, host);
    await haproxy.stop();

    const certificateFile = join(base, 'cert.pem');
    const keyFile = join(base, 'key.pem');
    await writeFile(certificateFile, certificate.chainPem);
    await writeFile(keyFile, certificate.keyPem, { mode: 0o600 });
    const nginxPort = await findFreePort();
    // Two workers against HAProxy's two threads (its default on this 2-core machine).
    const layout: NginxLayout = {
      dir: join(base, 'nginx'),
      listen: `127.0.0.1:${await findFreePort()}`,
      tls: { listen: `127.0.0.1:${nginxPort}`, certificate: certificateFile, key: keyFile },
      workers: 2,
    };
    nginx = await NginxProcess.start(layout, [{ name: host, upstream: `127.0.0.1:${backendPort}` }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const nginxFigures = await runWrk(nginxPort, host);
    return { haproxy: haproxyFigures, nginx: nginxFigures };
  } finally {
    await haproxy.stop();
    await nginx?.stop();
    await rm(base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const backend = await startBackend();
  try {
    console.log('(a) route change: time from the change until the new name answers (median of 5)');
    console.log('routes   haproxy runtime API   nginx reload   nginx/haproxy   haproxy worker unchanged');
    for (const routes of ROUTE_COUNTS) {
      const figures = await benchRouteChange(routes, backend.port);
      console.log(
        `${String(routes).padStart(6)}   ${figures.haproxyMs.toFixed(1).padStart(16)} ms   ${figures.nginxMs.toFixed(1).padStart(9)} ms   ${(figures.nginxMs / figures.haproxyMs).toFixed(1).padStart(12)}x   ${figures.haproxyWorkerUnchanged}`,
      );
    }

    console.log(`\n(b) HTTPS through the proxy to one Node backend: wrk -t2 -c${WRK_CONNECTIONS} -d${WRK_SECONDS}s, HTTP/1.1 keep-alive`);
    const figures = await benchThroughput(backend.port);
    console.log('proxy     req/s      p99');
    console.log(`haproxy   ${figures.haproxy.requestsPerSecond.toFixed(0).padStart(7)}   ${figures.haproxy.p99Ms.toFixed(2)} ms`);
    console.log(`nginx     ${figures.nginx.requestsPerSecond.toFixed(0).padStart(7)}   ${figures.nginx.p99Ms.toFixed(2)} ms`);
    console.log(
      `ratio haproxy/nginx: req/s ${(figures.haproxy.requestsPerSecond / figures.nginx.requestsPerSecond).toFixed(2)}, p99 ${(figures.haproxy.p99Ms / figures.nginx.p99Ms).toFixed(2)}`,
    );
  } finally {
    await new Promise<void>((resolve) => {
      backend.server.closeAllConnections();
      backend.server.close(() => resolve());
    });
  }
}

await main();
