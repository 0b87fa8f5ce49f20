import { errorPageBodyFile, errorPageFile } from './error-pages/pages.js';
import { quoteConfigWord } from './haproxy-syntax.js';
import type { ProxyPaths } from './paths.js';
import type { RouteOptions } from './route-options.js';

/**
 * Backend rules for the request body limit, buffering and the guest-stopped page of one route.
 * `options` undefined renders a free slot, which must match a route with default options so that
 * a new default route needs no reload.
 */

const NO_LENGTH = '!{ req.hdr(content-length) -m found }';
const UNDECLARED_LENGTH = `${NO_LENGTH} { req.hdr(transfer-encoding) -m found } || ${NO_LENGTH} { req.body_size gt 0 }`;

/** Renders the body limit rules, placed after the access rules. */
export function renderBodyLimit(options: RouteOptions | undefined, paths: ProxyPaths): string[] {
  const limit = options?.maxBodySize ?? null;
  if (limit === null) return [];
  return [
    `    http-request deny deny_status 413 if { req.hdr_val(content-length) gt ${limit} }`,
    // A body without Content-Length declares no size, and HAProxy 2.6 can measure it only up to one
    // buffer, so a limited route requires the size instead (RFC 9110, 411 Length Required). HTTP/1.1
    // shows such a body by Transfer-Encoding. HTTP/2 has no such header, so the rule looks at the
    // buffered start of the body, which `option http-buffer-request` waits for.
    // TODO: with buffering off, an HTTP/2 body without content-length is not caught.
    `    http-request return status 411 content-type ${quoteConfigWord('text/html; charset=utf-8')} file ${errorPageBodyFile(paths.errorPagesDir, 'length-required')} if ${UNDECLARED_LENGTH}`,
  ];
}

/**
 * Renders the buffering rules. With buffering on (the default), HAProxy waits for the start of the request
 * body, up to one buffer, before it contacts the target. With buffering off, requests stream, and
 * the server timeout becomes the route's tunnel timeout, so that a server-sent event stream may be
 * idle that long. HAProxy 2.6 cannot change `timeout client` per route: a stream must still send
 * something (an SSE comment line, for example) at least every `timeout client` (60 s).
 */
export function renderBuffering(options: RouteOptions | undefined): string[] {
  if (options === undefined || options.buffering) return ['    option http-buffer-request'];
  return [`    timeout server ${options.tunnelTimeoutSeconds}s`];
}

/** Renders the guest-stopped page rule, chosen by the host's entry in the guest-stopped map. */
export function renderGuestStopped(paths: ProxyPaths): string[] {
  return [`    http-request return status 503 errorfile ${errorPageFile(paths.errorPagesDir, 'guest-stopped')} if { var(txn.host),map(${paths.guestStoppedMapFile}) -m found }`];
}
