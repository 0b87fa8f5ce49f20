/**
 * First render of each plugin grid with 1,000 rows, in headless Chromium on the UI test page
 * (ExtJS 6.2 GPL, crisp theme). The rows are loaded into the grid's store before it is rendered;
 * the clock covers rendering and the synchronous layout, up to a forced reflow. No daemon runs:
 * the grids' first refresh fails after the measurement and is ignored. Prints the median and
 * maximum of `runs` renders per grid, in milliseconds.
 *
 *   npx tsx test/bench/ui-render.ts
 *
 * NOTE: ExtJS grids render only the rows in view (buffered rendering is on by default), so the
 * figures mostly measure the visible rows plus the store's sorting of all 1,000.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlugin } from '../../scripts/build-plugin.js';
import { findFreePort } from '../sandbox/ports.js';
import { makeListenerCertificate } from '../sandbox/tls.js';
import { launchBrowser, openShell } from '../ui/browser.js';
import { startShellServer } from '../ui/shell-server.js';

const rowCount = 1000;
const runs = 5;

/** Class name and row factory of each grid. */
const grids: Array<{ className: string; row: (index: number) => Record<string, unknown> }> = [
  {
    className: 'PVEDomains.dc.DomainView',
    row: (index) => ({
      domain: `d${index}.example.com`,
      'domain-unicode': `d${index}.example.com`,
      site: 'default',
      'acme-directory': 'https://acme-v02.api.letsencrypt.org/directory',
      'acme-directory-preset': 'letsencrypt',
      'certificate-mode': index % 2 === 0 ? 'per-service' : 'wildcard',
      services: index % 7,
      deleting: false,
      ready: index % 5 !== 0,
      verification: { 'checked-at': '2026-12-01T00:00:00Z', zone: `d${index}.example.com`, checks: [{ check: 'zone', status: index % 5 === 0 ? 'fail' : 'pass', message: 'zone found' }] },
      expiry: new Date(Date.now() + (index % 90) * 86_400_000).toISOString(),
    }),
  },
  {
    className: 'PVEDomains.dc.SiteView',
    row: (index) => ({ site: `site${index}`, nodes: ['pve1', 'pve2'], addresses: [`198.51.100.${index % 250}`, '2001:db8::20'], default: index === 0, 'allow-private': false, domains: [`d${index}.example.com`] }),
  },
  {
    className: 'PVEDomains.dc.CertificateView',
    row: (index) => ({
      id: `app${index}.example.com`,
      domain: 'example.com',
      names: [`app${index}.example.com`],
      issuer: 'https://acme-v02.api.letsencrypt.org/directory',
      'not-after': new Date(Date.now() + (index % 90) * 86_400_000).toISOString(),
      'next-renewal': new Date(Date.now() + (index % 60) * 86_400_000).toISOString(),
      'renewal-rule': index % 2 === 0 ? 'ari-window' : 'one-third-remaining',
      'last-error': index % 10 === 0 ? 'order failed: rate limited' : null,
      failures: index % 10 === 0 ? 2 : 0,
      warning: null,
    }),
  },
  {
    className: 'PVEDomains.guest.ServiceView',
    row: (index) => ({
      fqdn: `app${index}.example.com`,
      subdomain: `app${index}`,
      domain: 'example.com',
      vmid: 101,
      port: 8080,
      status: index % 9 === 0 ? 'error' : 'active',
      live: { servers: [{ address: '10.0.0.11', port: 8080, state: 'up', check: null }] },
      certificate: { serial: '01', 'not-after': new Date(Date.now() + 60 * 86_400_000).toISOString() },
      conditions: ['guest', 'dns', 'certificate', 'route', 'guest-config'].map((type) => ({ type, status: index % 9 === 0 && type === 'dns' ? 'false' : 'true', reason: 'Ok', message: `${type} done`, time: '2026-12-01T00:00:00Z' })),
      'next-retry': null,
      'last-error': null,
    }),
  },
];

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const max = sorted[sorted.length - 1] ?? NaN;
  return `median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-ui-bench-'));
  try {
    const built = await buildPlugin({ outFile: join(dir, 'pve-domains.js') });
    const certificate = await makeListenerCertificate(dir, 'ui-shell');
    // Nothing listens on these ports: the grids' daemon calls and pveproxy calls fail after the clock stops.
    const closedPort = await findFreePort();
    const shell = await startShellServer({ port: await findFreePort(), certFile: certificate.certFile, keyFile: certificate.keyFile, pluginFile: built.file, pveUrl: `http://127.0.0.1:${await findFreePort()}` });
    const browser = await launchBrowser([certificate.certFile]);
    try {
      const cap = { dc: { 'Sys.Audit': 1, 'Sys.Modify': 1 }, vms: { 'VM.Audit': 1 } };
      const shellPage = await openShell(browser, shell.url, { username: 'root@pam', ticket: 'unused', csrfToken: 'unused', cap }, closedPort, 'bench');
      console.log(`first render with ${rowCount} rows, ${runs} runs each (Chromium headless, ExtJS 6.2 crisp)`);
      for (const grid of grids) {
        const rows = Array.from({ length: rowCount }, (_, index) => grid.row(index));
        const times: number[] = [];
        let renderedRows = 0;
        for (let run = 0; run < runs; run++) {
          const measured = await shellPage.page.evaluate(
              ({ className, data }) => {
                // This function runs in the page; the root tsconfig has no DOM types, so the
                // few browser objects it touches are typed here.
                interface Element {
                  offsetHeight: number;
                  querySelectorAll(selector: string): { length: number };
                  appendChild(child: Element): void;
                  remove(): void;
                }
                type Component = { getStore(): { loadData(rows: unknown[]): void }; render(target: Element): void; updateLayout(): void; getEl(): { dom: Element }; destroy(): void };
                const page = globalThis as unknown as {
                  Ext: { create(name: string, config: object): Component };
                  document: { body: Element; createElement(tag: string): Element };
                  performance: { now(): number };
                };
                const target = page.document.createElement('div');
                page.document.body.appendChild(target);
                const component = page.Ext.create(className, { width: 1300, height: 700, pveSelNode: { data: { type: 'lxc', node: 'pve1', vmid: 101 } } });
                component.getStore().loadData(data);
                const started = page.performance.now();
                component.render(target);
                component.updateLayout();
                void component.getEl().dom.offsetHeight;
                const elapsed = page.performance.now() - started;
                const rendered = component.getEl().dom.querySelectorAll('.x-grid-row').length;
                component.destroy();
                target.remove();
                return { elapsed, rendered };
              },
              { className: grid.className, data: rows },
            );
          if (measured.rendered === 0) throw new Error(`${grid.className} rendered no rows; the measurement would be meaningless`);
          times.push(measured.elapsed);
          renderedRows = measured.rendered;
        }
        console.log(`${grid.className}: ${summary(times)} (${renderedRows} of ${rowCount} rows in the DOM)`);
      }
      await shellPage.close();
    } finally {
      await browser.close();
      await shell.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
