import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { callApi } from '../sandbox/pve/client.js';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folder of the screenshots, one per screen the tests visit. */
export const screenshotDir = join(repositoryRoot, 'test-artifacts', 'ui');

/** Debian's Chromium; playwright-core never downloads a browser here. */
const chromiumPath = '/usr/bin/chromium';

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo, the form Chromium's SPKI allow-list takes. */
export async function spkiHash(certFile: string): Promise<string> {
  const certificate = new X509Certificate(await readFile(certFile));
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Starts headless Chromium trusting exactly the listed certificates' keys, the sandbox's own
 * self-signed listeners (test page and daemon API), through --ignore-certificate-errors-spki-list;
 * every other certificate error still fails, so no blanket ignoreHTTPSErrors is needed.
 */
export async function launchBrowser(trustedCertFiles: string[]): Promise<Browser> {
  const hashes = await Promise.all(trustedCertFiles.map((file) => spkiHash(file)));
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [`--ignore-certificate-errors-spki-list=${hashes.join(',')}`],
  });
}

/** A login as PVE's index template and workspace would hold it. */
export interface ShellLogin {
  username: string;
  ticket: string;
  csrfToken: string;
  cap: Record<string, Record<string, number>>;
}

/** Logs in at the PVE simulator and returns the ticket, CSRF token and `cap` object. */
export async function loginAt(pveUrl: string, username: string, password: string): Promise<ShellLogin> {
  const response = await callApi(pveUrl, 'POST', '/access/ticket', {}, { username, password });
  const data = (response.json as { data?: { ticket?: string; CSRFPreventionToken?: string; cap?: ShellLogin['cap'] } } | undefined)?.data;
  if (response.status !== 200 || data?.ticket === undefined || data.CSRFPreventionToken === undefined || data.cap === undefined) {
    throw new Error(`login of ${username} at the PVE simulator failed: ${response.status} ${response.text}`);
  }
  return { username, ticket: data.ticket, csrfToken: data.CSRFPreventionToken, cap: data.cap };
}

/** A page of the test shell with everything it logged to the console. */
export interface ShellPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and warnings, and uncaught page errors, in order. */
  readonly problems: string[];
  close(): Promise<void>;
}

/**
 * Opens the test page as `login` in a fresh browser context: the ticket as the host-only
 * PVEAuthCookie (as PVE's UI sets it), the rest through the stand-in template's global.
 */
export async function openShell(browser: Browser, shellUrl: string, login: ShellLogin, daemonPort: number, fragment: string): Promise<ShellPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 800 } });
  await context.addCookies([{ name: 'PVEAuthCookie', value: encodeURIComponent(login.ticket), domain: '127.0.0.1', path: '/', secure: true, sameSite: 'Lax' }]);
  await context.addInitScript((settings) => {
    (globalThis as unknown as { PVEShellLogin: unknown }).PVEShellLogin = settings;
  }, { username: login.username, csrfToken: login.csrfToken, cap: login.cap, daemonPort });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Chromium's console line for a failed load names no URL; this line does.
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`response: ${response.status()} ${response.request().method()} ${response.url()}`);
  });
  await page.goto(`${shellUrl}/#${fragment}`);
  await page.waitForFunction(() => (globalThis as unknown as { PVEShellReady?: boolean }).PVEShellReady === true, undefined, { timeout: 15_000 });
  return { context, page, problems, close: () => context.close() };
}

/** Saves a full-page screenshot as test-artifacts/ui/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
