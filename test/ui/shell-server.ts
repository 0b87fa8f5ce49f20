import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** URL prefixes of the test page and the folders they are served from. */
const staticRoots: Record<string, string> = {
  '/ext/': join(repositoryRoot, 'node_modules', 'extjs-gpl', 'build'),
  '/fa/': join(repositoryRoot, 'node_modules', 'extjs-gpl', 'build', 'packages', 'font-awesome', 'resources'),
  '/stub/': join(repositoryRoot, 'test', 'ui'),
};

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
};

export interface ShellServerOptions {
  port: number;
  certFile: string;
  keyFile: string;
  /** The built plugin, served as /pve2/js/pve-domains.js as pveproxy does. */
  pluginFile: string;
  /** Base URL of the PVE simulator; /api2/ is forwarded there, as pveproxy serves the API and the UI on one origin. */
  pveUrl: string;
}

export interface ShellServer {
  readonly url: string;
  close(): Promise<void>;
}

function fileFor(pathname: string, pluginFile: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return join(repositoryRoot, 'test', 'ui', 'index.html');
  if (pathname === '/pve2/js/pve-domains.js') return pluginFile;
  for (const [prefix, root] of Object.entries(staticRoots)) {
    if (!pathname.startsWith(prefix)) continue;
    const file = normalize(join(root, decodeURIComponent(pathname.slice(prefix.length))));
    return file.startsWith(root + sep) ? file : undefined;
  }
  return undefined;
}

/**
 * Starts the HTTPS server that replaces pveproxy for the test page: the page, ExtJS and
 * Font Awesome from node_modules, the PVE stand-ins, the built plugin, and /api2/ forwarded to
 * the PVE simulator. Listens on 127.0.0.1 only.
 */
export async function startShellServer(options: ShellServerOptions): Promise<ShellServer> {
  const [cert, key] = await Promise.all([readFile(options.certFile), readFile(options.keyFile)]);
  const pve = new URL(options.pveUrl);
  const server: Server = createServer({ cert, key }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://shell.invalid');
    if (url.pathname.startsWith('/api2/')) {
      const upstream = httpRequest(
        { host: pve.hostname, port: pve.port, method: request.method, path: `${url.pathname}${url.search}`, headers: { ...request.headers, host: pve.host } },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', (err) => {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(`the PVE simulator did not answer: ${err.message}`);
      });
      request.pipe(upstream);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      // pveproxy serves an icon here; an empty response keeps Chromium from logging a 404.
      response.writeHead(204);
      response.end();
      return;
    }
    const file = fileFor(url.pathname, options.pluginFile);
    if (file === undefined || request.method !== 'GET') {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        response.end(body);
      },
      () => {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end(`no such file: ${url.pathname}`);
      },
    );
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port }, () => resolveListen());
  });
  return {
    url: `https://127.0.0.1:${options.port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
