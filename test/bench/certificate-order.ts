/**
 * Time from a certificate order to the new serial being served by the ingress, in the sandbox
 * (real Pebble, Cloudflare simulator, HAProxy), for a per-service and a wildcard certificate.
 * Each run is a POST /certificates/{id}/renew; the clock stops at the first TLS handshake that
 * presents the new serial. Prints the median and maximum of `runs` orders per mode.
 */
import { servedSerial } from '../../daemon/src/acme/served-certificate.js';
import { startSandbox } from '../sandbox/sandbox.js';

const runs = 5;

async function measure(mode: 'per-service' | 'wildcard'): Promise<number[]> {
  const sandbox = await startSandbox();
  try {
    await sandbox.startDaemon();
    const domain = await sandbox.api('POST', '/domains', {
      domain: 'example.com',
      'acme-directory': sandbox.acmeDirectoryUrl,
      'acme-email': 'admin@example.com',
      'cloudflare-token': sandbox.cloudflareToken,
      'certificate-mode': mode,
    });
    if (domain.status !== 200) throw new Error(`domain: ${JSON.stringify(domain.body)}`);
    await sandbox.api('POST', '/services', { subdomain: 'app', domain: 'example.com', vmid: 101, port: sandbox.containers[0]?.port });
    const id = mode === 'wildcard' ? '*.example.com' : 'app.example.com';
    const serve = (): Promise<string> => servedSerial('127.0.0.1', sandbox.httpsPort, 'app.example.com').catch(() => '');
    const deadline = Date.now() + 60_000;
    while ((await sandbox.api('GET', '/certificates')).body.data instanceof Array && ((await sandbox.api('GET', '/certificates')).body.data as unknown[]).length === 0) {
      if (Date.now() > deadline) throw new Error('the first certificate was not issued within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      let before = await serve();
      while (before === '') before = await serve();
      const started = performance.now();
      await sandbox.api('POST', `/certificates/${encodeURIComponent(id)}/renew`);
      const limit = Date.now() + 30_000;
      let now = before;
      while (now === before || now === '') {
        if (Date.now() > limit) throw new Error(`run ${run}: the new certificate was not served within 30 s`);
        now = await serve();
      }
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    await sandbox.stop();
  }
}

function describe(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `median ${median.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms over ${times.length} orders`;
}

for (const mode of ['per-service', 'wildcard'] as const) {
  const times = await measure(mode);
  process.stdout.write(`${mode}: order to served certificate ${describe(times)}\n`);
}
