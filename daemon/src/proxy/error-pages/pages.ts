import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readProxyAsset } from '../proxy-assets.js';

/**
 * The ingress's own error pages. Each ships as an HTML body next to this module and is installed
 * in the HAProxy configuration directory as a raw HTTP response (`<name>.http`), the form that
 * HAProxy's `errorfile` and `http-request return errorfile` read. An administrator replaces a page
 * by putting `<name>.http` (a full HTTP response) or `<name>.html` (the body only) into the
 * override directory (`proxy.errorPagesDir` of the settings, `/etc/pve-domains/error-pages` by
 * default). The daemon reads that directory when it starts the proxy.
 */

export type ErrorPageName =
  | 'backend-error'
  | 'backend-unavailable'
  | 'backend-timeout'
  | 'guest-stopped'
  | 'sign-in-unavailable'
  | 'sign-in-not-configured'
  | 'unknown-host'
  | 'body-too-large'
  | 'length-required';

export interface ErrorPageSpec {
  status: number;
  reason: string;
}

export const ERROR_PAGES: Readonly<Record<ErrorPageName, ErrorPageSpec>> = {
  'backend-error': { status: 502, reason: 'Bad Gateway' },
  'backend-unavailable': { status: 503, reason: 'Service Unavailable' },
  'backend-timeout': { status: 504, reason: 'Gateway Timeout' },
  'guest-stopped': { status: 503, reason: 'Service Unavailable' },
  'sign-in-unavailable': { status: 503, reason: 'Service Unavailable' },
  'sign-in-not-configured': { status: 503, reason: 'Service Unavailable' },
  'unknown-host': { status: 404, reason: 'Not Found' },
  'body-too-large': { status: 413, reason: 'Content Too Large' },
  'length-required': { status: 411, reason: 'Length Required' },
};

export const ERROR_PAGE_NAMES = Object.keys(ERROR_PAGES) as ErrorPageName[];

/**
 * Largest response HAProxy 2.6 accepts as an errorfile with its default buffers: tune.bufsize
 * (16384) minus tune.maxrewrite (1024), from the `errorfile` section of its configuration manual.
 */
export const MAX_ERROR_RESPONSE_BYTES = 16384 - 1024;

/** Path of the installed raw response of page `name`. */
export function errorPageFile(directory: string, name: ErrorPageName): string {
  return join(directory, `${name}.http`);
}

/** Path of the installed HTML body of page `name`, for `http-request return ... file`. */
export function errorPageBodyFile(directory: string, name: ErrorPageName): string {
  return join(directory, `${name}.html`);
}

/** Builds the raw HTTP/1.1 response of an HTML page. */
export function renderErrorResponse(spec: ErrorPageSpec, html: string): string {
  const body = Buffer.from(html, 'utf8');
  const head = [
    `HTTP/1.1 ${spec.status} ${spec.reason}`,
    'Content-Type: text/html; charset=utf-8',
    'Cache-Control: no-store',
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  return head + html;
}

/** Throws unless `text` is a raw HTTP response with the status of `name` that fits HAProxy's buffer. */
export function checkErrorResponse(name: ErrorPageName, text: string, source: string): void {
  const status = ERROR_PAGES[name].status;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_ERROR_RESPONSE_BYTES) {
    throw new Error(`error page ${source} is ${size} bytes; HAProxy accepts at most ${MAX_ERROR_RESPONSE_BYTES}, so shorten it`);
  }
  const statusLine = /^HTTP\/1\.[01] ([0-9]{3})[^\r\n]*\r?\n/.exec(text);
  if (statusLine === null) throw new Error(`error page ${source} does not start with an HTTP/1.1 status line; write a full response such as "HTTP/1.1 ${status} ..." or put the HTML body into ${name}.html instead`);
  if (Number(statusLine[1]) !== status) throw new Error(`error page ${source} has status ${statusLine[1]}, expected ${status} for ${name}`);
  if (!/\r?\n\r?\n/.test(text)) throw new Error(`error page ${source} has no empty line after its headers`);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface LoadedErrorPage {
  name: ErrorPageName;
  /** Raw HTTP response. */
  response: string;
  /** HTML body alone. */
  body: string;
  /** `shipped`, or the path of the administrator's file that replaced it. */
  source: string;
}

function bodyOf(response: string): string {
  const match = /\r?\n\r?\n/.exec(response);
  return match === null ? '' : response.slice(match.index + match[0].length);
}

/**
 * Loads every page: the administrator's `<name>.http` or `<name>.html` from `overrideDirectory`
 * when present, the shipped page otherwise. An invalid override is reported through `onProblem`
 * and the shipped page is used instead, so that a typo never stops the proxy. A missing shipped
 * page is reported too and replaced by a bare page with the status line's reason.
 */
export async function loadErrorPages(overrideDirectory: string | null, onProblem: (name: ErrorPageName, error: Error) => void): Promise<LoadedErrorPage[]> {
  const pages: LoadedErrorPage[] = [];
  for (const name of ERROR_PAGE_NAMES) {
    const spec = ERROR_PAGES[name];
    let page: LoadedErrorPage | undefined;
    if (overrideDirectory !== null) {
      try {
        page = await readOverride(overrideDirectory, name, spec);
      } catch (err) {
        onProblem(name, err instanceof Error ? err : new Error(String(err)));
      }
    }
    page ??= await shippedPage(name, spec, onProblem);
    pages.push(page);
  }
  return pages;
}

async function shippedPage(name: ErrorPageName, spec: ErrorPageSpec, onProblem: (name: ErrorPageName, error: Error) => void): Promise<LoadedErrorPage> {
  let html: string;
  try {
    html = await readProxyAsset(`error-pages/${name}.html`);
  } catch (err) {
    onProblem(name, err instanceof Error ? err : new Error(String(err)));
    html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${spec.reason}</title></head><body><h1>${spec.reason}</h1></body></html>`;
  }
  return { name, response: renderErrorResponse(spec, html), body: html, source: 'shipped' };
}

async function readOverride(directory: string, name: ErrorPageName, spec: ErrorPageSpec): Promise<LoadedErrorPage | undefined> {
  const rawPath = join(directory, `${name}.http`);
  const raw = await readIfExists(rawPath);
  if (raw !== undefined) {
    checkErrorResponse(name, raw, rawPath);
    return { name, response: raw, body: bodyOf(raw), source: rawPath };
  }
  const htmlPath = join(directory, `${name}.html`);
  const html = await readIfExists(htmlPath);
  if (html === undefined) return undefined;
  const response = renderErrorResponse(spec, html);
  checkErrorResponse(name, response, htmlPath);
  return { name, response, body: html, source: htmlPath };
}
