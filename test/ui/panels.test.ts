import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildPlugin } from '../../scripts/build-plugin.js';
import { findFreePort } from '../sandbox/ports.js';
import { sandboxAdmin, startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { makeListenerCertificate } from '../sandbox/tls.js';
import { launchBrowser, loginAt, openShell, screenshot, type ShellLogin, type ShellPage } from './browser.js';
import { startShellServer, type ShellServer } from './shell-server.js';

/**
 * The plugin in Chromium on the test page that replaces PVE's shell, against the real
 * daemon and the sandbox: tabs by privilege, adding a domain, exposing a container's service
 * until it is served over HTTPS, removing it, and the read-only view.
 */
describe('pve web ui plugin', () => {
  let sandbox: Sandbox;
  let shell: ShellServer;
  let browser: Browser;
  let daemonPort: number;
  const logins: Record<string, ShellLogin> = {};
  const fqdn = 'app.example.com';

  /** Console lines Chromium itself logs for a response the flow provokes on purpose. */
  const expectedProblems: RegExp[] = [];

  const open = async (user: string, fragment: string, port = daemonPort): Promise<ShellPage> => {
    const login = logins[user];
    assert.ok(login !== undefined, `no login for ${user}`);
    return openShell(browser, shell.url, login, port, fragment);
  };

  /** Closes the page and fails on any console error or warning the flow did not expect. */
  const closeChecked = async (shellPage: ShellPage): Promise<void> => {
    await shellPage.close();
    const unexpected = shellPage.problems.filter((line) => !expectedProblems.some((pattern) => pattern.test(line)));
    expectedProblems.length = 0;
    assert.deepEqual(unexpected, []);
  };

  const selectTab = async (page: Page, title: string): Promise<void> => {
    await page.locator('.x-tree-node-text', { hasText: new RegExp(`^${title}$`) }).click();
  };

  const button = (page: Page, text: string) => page.locator('.x-btn:visible', { has: page.locator('.x-btn-inner', { hasText: new RegExp(`^${text}$`) }) });

  /** Whether the Ext field with this itemId shows an error, and which. */
  const fieldError = (page: Page, itemId: string): Promise<string | null> =>
    page.evaluate((id) => {
      const field = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getActiveError(): string }> } } }).Ext.ComponentQuery.query(`#${id}`)[0];
      return field === undefined ? null : field.getActiveError() || null;
    }, itemId);

  const dialog = (page: Page) => page.locator('.x-window:visible').last();

  const dialogButton = (page: Page, text: string) => dialog(page).locator('.x-btn', { has: page.locator('.x-btn-inner', { hasText: new RegExp(`^${text}$`) }) });

  /** Selects a service's row by its Port cell, because a click on the Address cell may hit its link. */
  const selectServiceRow = async (page: Page, name: string): Promise<void> => {
    await page.locator('.x-grid-row', { hasText: name }).locator('.x-grid-cell').nth(2).click();
  };

  const chooseFromCombo = async (page: Page, name: string, item: string): Promise<void> => {
    await page.locator(`input[name="${name}"]`).click();
    await page.locator('.x-boundlist-item:visible', { hasText: new RegExp(`^${item}$`) }).click();
  };

  before(async () => {
    const shellPort = await findFreePort();
    sandbox = await startSandbox({
      configure: (config) => {
        const api = config['api'] as Record<string, unknown>;
        api['corsOrigins'] = [`https://127.0.0.1:${shellPort}`];
        daemonPort = (api['listen'] as { port: number }).port;
      },
    });
    const built = await buildPlugin({ outFile: join(sandbox.dir, 'pve-domains.js') });
    await sandbox.startDaemon();
    const shellCertificate = await makeListenerCertificate(sandbox.dir, 'ui-shell');
    shell = await startShellServer({ port: shellPort, certFile: shellCertificate.certFile, keyFile: shellCertificate.keyFile, pluginFile: built.file, pveUrl: sandbox.pve.url });
    browser = await launchBrowser([shellCertificate.certFile, join(sandbox.dir, 'daemon-api.pem')]);

    const viewerPassword = randomUUID();
    sandbox.pve.addUser('viewer@pve', viewerPassword, { '/': ['VM.Audit'] });
    const readerPassword = randomUUID();
    sandbox.pve.addUser('reader@pve', readerPassword, { '/': ['Sys.Audit', 'VM.Audit'] });
    logins['admin'] = await loginAt(sandbox.pve.url, sandboxAdmin.user, sandboxAdmin.password);
    logins['viewer'] = await loginAt(sandbox.pve.url, 'viewer@pve', viewerPassword);
    logins['reader'] = await loginAt(sandbox.pve.url, 'reader@pve', readerPassword);
  });

  after(async () => {
    await browser?.close();
    await shell?.close();
    await sandbox?.stop();
  });

  it('shows the datacenter tab to an admin', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    await page.locator('.x-grid-empty', { hasText: 'No domains configured' }).waitFor();
    await screenshot(page, 'datacenter-admin');
    assert.equal(await page.locator('.x-tree-node-text', { hasText: /^Sites$/ }).count(), 1);
    assert.equal(await page.locator('.x-tree-node-text', { hasText: /^Certificates$/ }).count(), 1);
    assert.equal(await button(page, 'Add').count(), 1);
    await closeChecked(shellPage);
  });

  it('hides the datacenter tab without Sys.Audit', async () => {
    const shellPage = await open('viewer', 'dc');
    const { page } = shellPage;
    await page.locator('.x-tree-node-text', { hasText: /^Users$/ }).waitFor();
    await screenshot(page, 'datacenter-viewer');
    assert.equal(await page.locator('.x-tree-node-text', { hasText: /^External Domains$/ }).count(), 0);
    await closeChecked(shellPage);
  });

  it('marks a failing check on its field', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    await button(page, 'Add').click();
    await page.locator('input[name="domain"]').fill('example.com');
    await chooseFromCombo(page, 'acme-directory-preset', 'Custom');
    await page.locator('input[name="acme-directory"]').fill(sandbox.acmeDirectoryUrl);
    await page.locator('input[name="acme-email"]').fill('admin@example.com');
    // A token of the right form that the Cloudflare simulator does not know.
    await page.locator('input[name="cloudflare-token"]').fill('unknownunknownunknownunknownunknownunkno');
    expectedProblems.push(/status of 400/, /response: 400 POST .*\/api2\/json\/domains$/);
    await dialogButton(page, 'Add').click();

    const alert = page.locator('.x-message-box:visible');
    await alert.waitFor({ timeout: 30_000 });
    assert.match((await alert.textContent()) ?? '', /Verification of example\.com failed/);
    await screenshot(page, 'domain-add-failed-check');
    await alert.locator('.x-btn', { hasText: 'OK' }).click();
    assert.match((await fieldError(page, 'field-cloudflare-token')) ?? '', /Cloudflare rejected the API token/);
    assert.equal(await fieldError(page, 'field-acme-email'), null);
    await screenshot(page, 'domain-add-field-marked');
    await closeChecked(shellPage);
  });

  it('adds a domain whose checks pass', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    await button(page, 'Add').click();
    await page.locator('input[name="domain"]').fill('example.com');
    await chooseFromCombo(page, 'acme-directory-preset', 'Custom');
    await page.locator('input[name="acme-directory"]').fill(sandbox.acmeDirectoryUrl);
    await page.locator('input[name="acme-email"]').fill('admin@example.com');
    await page.locator('input[name="cloudflare-token"]').fill(sandbox.cloudflareToken);
    await screenshot(page, 'domain-add-window');
    await dialogButton(page, 'Add').click();

    await page.locator('.x-grid-cell', { hasText: /^example\.com$/ }).waitFor({ timeout: 30_000 });
    await page.locator('.x-grid-cell', { hasText: 'Ready' }).waitFor();
    await screenshot(page, 'domains-grid');
    const stored = await sandbox.api('GET', '/domains/example.com');
    assert.equal(stored.status, 200);
    assert.equal((stored.body.data as { ready: boolean }).ready, true);
    await closeChecked(shellPage);
  });

  it('lists the verify task with its log', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'Tasks');
    const row = page.locator('.x-grid-row', { hasText: 'Verify domain example.com' }).first();
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /OK/);
    await screenshot(page, 'tasks-grid');

    await row.dblclick();
    const viewer = page.locator('.x-window:visible', { hasText: 'Task viewer: Verify domain example.com' });
    await viewer.locator('.x-grid-cell', { hasText: 'TASK OK' }).waitFor();
    assert.ok((await viewer.locator('.x-grid-row').count()) >= 2);
    await screenshot(page, 'task-log');
    await closeChecked(shellPage);
  });

  it('exposes a container service until ready', async () => {
    const container = sandbox.containers[0];
    assert.ok(container !== undefined);
    const shellPage = await open('admin', `lxc/${container.vmid}`);
    const { page } = shellPage;
    await selectTab(page, 'Expose Service');
    await button(page, 'Add').click();
    await page.locator('input[name="domain"]').waitFor();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-domain');
      return query[0]?.getValue() === 'example.com';
    });
    await page.locator('input[name="subdomain"]').fill('App-');
    await dialog(page).getByText('https://app-.example.com/').waitFor();
    assert.match((await fieldError(page, 'field-subdomain')) ?? '', /hyphen/);
    await page.locator('input[name="subdomain"]').fill('app');
    await dialog(page).getByText('https://app.example.com/').waitFor();
    assert.equal(await fieldError(page, 'field-subdomain'), null);
    await page.locator('input[name="port"]').fill(String(container.port));
    await screenshot(page, 'service-add-window');
    await dialogButton(page, 'Add').click();

    const progress = page.locator('.x-window:visible', { hasText: `Expose Service: ${fqdn}` });
    await progress.getByText('Ready:').waitFor({ timeout: 90_000 });
    await screenshot(page, 'service-progress-ready');
    await progress.locator('.x-btn', { hasText: 'Close' }).click();

    await page.locator('.x-grid-cell', { hasText: 'Active' }).waitFor({ timeout: 15_000 });
    await screenshot(page, 'services-grid');
    const href = await page.locator(`a[href="https://${fqdn}/"]`).getAttribute('href');
    assert.equal(href, `https://${fqdn}/`);
    const served = await sandbox.fetchHttps(new URL(href).hostname);
    assert.equal(served.status, 200);
    await closeChecked(shellPage);
  });

  it('lists the service events', async () => {
    const shellPage = await open('admin', `lxc/${sandbox.containers[0]?.vmid ?? 101}`);
    const { page } = shellPage;
    await selectTab(page, 'Expose Service');
    await selectServiceRow(page, fqdn);
    await button(page, 'Log').click();
    const log = page.locator('.x-window:visible', { hasText: `Events: ${fqdn}` });
    await log.locator('.x-grid-cell', { hasText: 'service.create' }).waitFor();
    await screenshot(page, 'service-events');
    assert.ok((await log.locator('.x-grid-row').count()) >= 2);
    await closeChecked(shellPage);
  });

  it('stores response headers and users', async () => {
    const container = sandbox.containers[0];
    assert.ok(container !== undefined);
    const secureFqdn = 'secure.example.com';
    const shellPage = await open('admin', `lxc/${container.vmid}`);
    const { page } = shellPage;
    await selectTab(page, 'Expose Service');
    await button(page, 'Add').click();
    await page.locator('input[name="domain"]').waitFor();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-domain');
      return query[0]?.getValue() === 'example.com';
    });
    await page.locator('input[name="subdomain"]').fill('secure');
    await page.locator('input[name="port"]').fill(String(container.port));
    await dialog(page).locator('.x-fieldset-header', { hasText: 'Advanced' }).locator('.x-tool').click();
    await page.locator('textarea[name="response-headers"]').fill('Bad Header: x');
    // The field checks a change after a short buffer, so the mark is awaited.
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getActiveError(): string }> } } }).Ext.ComponentQuery.query('#field-response-headers');
      return (query[0]?.getActiveError() ?? '') !== '';
    });
    assert.match((await fieldError(page, 'field-response-headers')) ?? '', /Line 1: Invalid header name/);
    await page.locator('textarea[name="response-headers"]').fill('X-Frame-Options: DENY');
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getActiveError(): string }> } } }).Ext.ComponentQuery.query('#field-response-headers');
      return query[0]?.getActiveError() === '';
    });
    assert.equal(await fieldError(page, 'field-response-headers'), null);
    await page.locator('textarea[name="basic-auth"]').fill('alice:correct-horse');
    await screenshot(page, 'service-add-advanced-lists');
    const sent = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/api2/json/services');
    await dialogButton(page, 'Add').click();
    const body = (await sent).postDataJSON() as Record<string, unknown>;
    assert.equal(body['request-headers'], undefined);
    assert.equal(body['interface'], undefined);

    const progress = page.locator('.x-window:visible', { hasText: `Expose Service: ${secureFqdn}` });
    await progress.waitFor();
    await progress.locator('.x-btn', { hasText: 'Close' }).click();
    const stored = await sandbox.api('GET', `/services/${secureFqdn}`);
    assert.equal(stored.status, 200);
    const options = (stored.body.data as { options: Record<string, unknown> }).options;
    assert.deepEqual(options['response-headers'], [{ name: 'X-Frame-Options', value: 'DENY' }]);
    assert.deepEqual(options['basic-auth'], [{ user: 'alice' }]);

    // Editing shows the user without password, sends only the changed list, and marks the
    // daemon's rejection of a header it sets itself on that list.
    await page.locator('.x-grid-row', { hasText: secureFqdn }).locator('.x-grid-cell').nth(2).dblclick();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-basic-auth');
      return query[0]?.getValue() === 'alice';
    });
    await dialog(page).locator('.x-fieldset-header', { hasText: 'Advanced' }).locator('.x-tool').click();
    assert.equal(await page.locator('textarea[name="response-headers"]').inputValue(), 'X-Frame-Options: DENY');
    await page.locator('textarea[name="request-headers"]').fill('Host: other.example');
    const put = page.waitForRequest((request) => request.method() === 'PUT' && new URL(request.url()).pathname === `/api2/json/services/${secureFqdn}`);
    expectedProblems.push(/status of 400/, /response: 400 PUT /);
    await dialogButton(page, 'OK').click();
    const edited = (await put).postDataJSON() as Record<string, unknown>;
    assert.deepEqual(edited['request-headers'], [{ name: 'Host', value: 'other.example' }]);
    assert.equal(edited['basic-auth'], undefined);
    const alert = page.locator('.x-message-box:visible');
    await alert.waitFor();
    await alert.locator('.x-btn', { hasText: 'OK' }).click();
    assert.match((await fieldError(page, 'field-request-headers')) ?? '', /header the ingress does not set itself/);
    await screenshot(page, 'service-edit-header-rejected');
    await closeChecked(shellPage);

    // Later tests expect the first HTTP service alone.
    assert.equal((await sandbox.api('DELETE', `/services/${secureFqdn}?force=1`)).status, 200);
    const deadline = Date.now() + 30_000;
    while ((await sandbox.api('GET', `/services/${secureFqdn}`)).status !== 404) {
      assert.ok(Date.now() < deadline, `${secureFqdn} was not removed within 30 s`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
    }
  });

  it('adds a TCP service on an external port', async () => {
    const container = sandbox.containers[0];
    assert.ok(container !== undefined);
    const gameFqdn = 'game.example.com';
    // A port free now, outside the ranges the daemon reserves for PVE (the highest ends at 60050).
    let externalPort = await findFreePort();
    while (externalPort >= 60000 && externalPort <= 60050) externalPort = await findFreePort();

    const shellPage = await open('admin', `lxc/${container.vmid}`);
    const { page } = shellPage;
    await selectTab(page, 'Expose Service');
    await button(page, 'Add').click();
    await page.locator('input[name="domain"]').waitFor();
    await chooseFromCombo(page, 'protocol', 'TCP');
    assert.equal(await dialog(page).locator('input[name="https-redirect"]').isVisible(), false);
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-domain');
      return query[0]?.getValue() === 'example.com';
    });
    await page.locator('input[name="subdomain"]').fill('game');
    await page.locator('input[name="port"]').fill(String(container.port));
    await page.locator('input[name="external-port"]').fill(String(externalPort));
    await dialog(page).getByText(`${gameFqdn}:${externalPort} (TCP)`).waitFor();
    await screenshot(page, 'service-add-tcp-window');
    const sent = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/api2/json/services');
    await dialogButton(page, 'Add').click();
    const body = (await sent).postDataJSON() as Record<string, unknown>;
    assert.equal(body['protocol'], 'tcp');
    assert.equal(body['external-port'], externalPort);
    assert.equal(body['https-redirect'], undefined);

    const progress = page.locator('.x-window:visible', { hasText: `Expose Service: ${gameFqdn}` });
    await progress.waitFor();
    await progress.locator('.x-btn', { hasText: 'Close' }).click();
    await page.locator('.x-grid-cell', { hasText: `${gameFqdn}:${externalPort}` }).waitFor();
    await screenshot(page, 'services-grid-tcp');
    const row = page.locator('.x-grid-row', { hasText: gameFqdn });
    assert.match((await row.textContent()) ?? '', /TCP/);
    assert.equal(await row.locator(`a[href="https://${gameFqdn}/"]`).count(), 0);
    const stored = await sandbox.api('GET', `/services/${gameFqdn}`);
    assert.equal((stored.body.data as { 'external-port': number })['external-port'], externalPort);

    await page.locator('.x-grid-row', { hasText: gameFqdn }).locator('.x-grid-cell').nth(2).dblclick();
    await page.waitForFunction((port) => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-external-port');
      return query[0]?.getValue() === port;
    }, externalPort);
    assert.match((await dialog(page).textContent()) ?? '', /Protocol:\s*TCP/);
    assert.equal(await dialog(page).locator('.x-fieldset-header', { hasText: 'Advanced' }).isVisible(), false);
    await screenshot(page, 'service-edit-tcp-window');
    await dialog(page).locator('.x-tool-close').click();
    await closeChecked(shellPage);

    // Later tests expect the HTTP service alone.
    assert.equal((await sandbox.api('DELETE', `/services/${gameFqdn}?force=1`)).status, 200);
    const deadline = Date.now() + 30_000;
    while ((await sandbox.api('GET', `/services/${gameFqdn}`)).status !== 404) {
      assert.ok(Date.now() < deadline, `${gameFqdn} was not removed within 30 s`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
    }
  });

  it('stops refreshing after leaving the tab', async () => {
    const shellPage = await open('admin', `lxc/${sandbox.containers[0]?.vmid ?? 101}`);
    const { page } = shellPage;
    let listCalls = 0;
    page.on('request', (request) => {
      if (request.method() === 'GET' && new URL(request.url()).pathname === '/api2/json/services') listCalls += 1;
    });
    await selectTab(page, 'Expose Service');
    await page.locator('.x-grid-cell', { hasText: fqdn }).waitFor();
    // The grid refreshes every 5 s while shown.
    await page.waitForTimeout(5_500);
    assert.ok(listCalls >= 2, `expected a refresh while shown, saw ${listCalls} list calls`);
    await selectTab(page, 'Network');
    const afterLeaving = listCalls;
    await page.waitForTimeout(5_500);
    assert.equal(listCalls, afterLeaving);
    await closeChecked(shellPage);
  });

  it('verifies and edits a domain', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    await page.locator('.x-grid-cell', { hasText: /^example\.com$/ }).click();

    await button(page, 'Verify').click();
    const verify = page.locator('.x-window:visible', { hasText: 'Verify: example.com' });
    await verify.locator('.x-grid-cell', { hasText: 'Cloudflare credentials' }).waitFor({ timeout: 30_000 });
    await verify.locator('.x-window-header-title', { hasText: 'Ready' }).waitFor();
    assert.ok((await verify.locator('.x-grid-row').count()) >= 3);
    await screenshot(page, 'domain-verify');
    const taskLog = verify.locator('.x-btn:not(.x-btn-disabled)', { hasText: 'Task Log' });
    await taskLog.waitFor();
    await taskLog.click();
    const viewer = page.locator('.x-window:visible', { hasText: 'Task viewer: Verify domain example.com' });
    await viewer.locator('.x-grid-cell', { hasText: 'TASK OK' }).waitFor();
    await viewer.locator('.x-btn', { hasText: 'Close' }).click();
    await verify.locator('.x-btn', { hasText: 'Close' }).click();

    await button(page, 'Remove').click();
    const confirm = page.locator('.x-message-box:visible');
    assert.match((await confirm.textContent()) ?? '', new RegExp(fqdn.replaceAll('.', '\\.')));
    await screenshot(page, 'domain-remove-confirm');
    await confirm.locator('.x-btn', { hasText: 'No' }).click();

    await button(page, 'Edit').click();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-acme-email');
      return query[0]?.getValue() === 'admin@example.com';
    });
    assert.equal(await page.locator('input[name="cloudflare-token"]').getAttribute('placeholder'), 'unchanged');
    await screenshot(page, 'domain-edit-window');
    await closeChecked(shellPage);
  });

  it('sends the sign-in server of a domain', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    await page.locator('.x-grid-cell', { hasText: /^example\.com$/ }).dblclick();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-acme-email');
      return query[0]?.getValue() === 'admin@example.com';
    });
    await dialog(page).locator('.x-fieldset-header', { hasText: 'Advanced' }).locator('.x-tool').click();
    await page.locator('input[name="auth-server"]').fill('https://auth.example.com');
    await screenshot(page, 'domain-edit-advanced');
    const sent = page.waitForRequest((request) => request.method() === 'PUT' && new URL(request.url()).pathname === '/api2/json/domains/example.com');
    await dialogButton(page, 'OK').click();
    const body = (await sent).postDataJSON() as Record<string, unknown>;
    assert.equal(body['auth-server'], 'https://auth.example.com');
    assert.equal(body['notify-webhook'], undefined);
    await page.locator('.x-window:visible').waitFor({ state: 'detached' });
    const stored = await sandbox.api('GET', '/domains/example.com');
    assert.match(String((stored.body.data as { 'auth-server': string | null })['auth-server']), /^https:\/\/auth\.example\.com/);
    await closeChecked(shellPage);
  });

  it('lists certificates and sites', async () => {
    const shellPage = await open('admin', 'dc');
    const { page } = shellPage;
    await selectTab(page, 'Certificates');
    await page.locator('.x-grid-cell', { hasText: fqdn }).waitFor();
    await page.locator('.x-grid-cell', { hasText: fqdn }).click();
    assert.equal(await button(page, 'Renew Now').count(), 1);
    await screenshot(page, 'certificates-grid');
    await button(page, 'Renew Now').click();
    await page.locator('.x-message-box:visible').locator('.x-btn', { hasText: 'Yes' }).click();
    const viewer = page.locator('.x-window:visible', { hasText: `Task viewer: Renew certificate ${fqdn}` });
    await viewer.locator('.x-grid-cell', { hasText: 'TASK OK' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'certificate-renew-task');
    await viewer.locator('.x-btn', { hasText: 'Close' }).click();

    await selectTab(page, 'Sites');
    await page.locator('.x-grid-cell', { hasText: '127.0.0.1' }).waitFor();
    await page.locator('.x-grid-cell', { hasText: /^default/ }).dblclick();
    await dialog(page).locator('textarea[name="addresses"]').waitFor();
    await page.waitForFunction(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-addresses');
      return query[0]?.getValue() === '127.0.0.1';
    });
    const sites = (await sandbox.api('GET', '/sites')).body.data as Array<{ nodes: string[] }>;
    const shownNodes = await page.evaluate(() => {
      const query = (globalThis as unknown as { Ext: { ComponentQuery: { query(selector: string): Array<{ getValue(): unknown }> } } }).Ext.ComponentQuery.query('#field-nodes');
      return query[0]?.getValue();
    });
    assert.deepEqual(shownNodes, sites[0]?.nodes);
    await screenshot(page, 'site-edit-window');
    await closeChecked(shellPage);
  });

  it('keeps a read-only user from adding', async () => {
    const datacenter = await open('reader', 'dc');
    await selectTab(datacenter.page, 'External Domains');
    await datacenter.page.locator('.x-grid-cell', { hasText: /^example\.com$/ }).waitFor();
    await screenshot(datacenter.page, 'datacenter-read-only');
    assert.equal(await button(datacenter.page, 'Add').count(), 0);
    assert.equal(await button(datacenter.page, 'Remove').count(), 0);
    await closeChecked(datacenter);

    const guest = await open('reader', `lxc/${sandbox.containers[0]?.vmid ?? 101}`);
    await selectTab(guest.page, 'Expose Service');
    await guest.page.getByText('Read only').waitFor();
    await guest.page.locator('.x-grid-cell', { hasText: fqdn }).waitFor();
    await screenshot(guest.page, 'services-read-only');
    assert.equal(await button(guest.page, 'Add').count(), 0);
    await closeChecked(guest);
  });

  it('removes the service after confirmation', async () => {
    const shellPage = await open('admin', `lxc/${sandbox.containers[0]?.vmid ?? 101}`);
    const { page } = shellPage;
    await selectTab(page, 'Expose Service');
    await selectServiceRow(page, fqdn);
    await button(page, 'Remove').click();
    const confirm = page.locator('.x-message-box:visible');
    assert.match((await confirm.textContent()) ?? '', new RegExp(fqdn.replaceAll('.', '\\.')));
    await screenshot(page, 'service-remove-confirm');
    await confirm.locator('.x-btn', { hasText: 'Yes' }).click();
    await page.locator('.x-grid-empty', { hasText: 'No services exposed' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'services-removed');
    const listed = await sandbox.api('GET', '/services');
    assert.deepEqual(listed.body.data, []);
    await closeChecked(shellPage);
  });

  it('explains an unreachable daemon', async () => {
    const closedPort = await findFreePort();
    expectedProblems.push(/ERR_CONNECTION_REFUSED/);
    const shellPage = await open('admin', 'dc', closedPort);
    const { page } = shellPage;
    await selectTab(page, 'External Domains');
    const notice = page.getByText(`https://127.0.0.1:${closedPort}`).first();
    await notice.waitFor();
    await screenshot(page, 'daemon-unreachable');
    assert.match((await page.locator('.pve-domains-notice').textContent()) ?? '', /accept the certificate/);
    assert.match((await page.locator('.x-grid-empty').textContent()) ?? '', /does not answer/);
    await closeChecked(shellPage);
  });
});
