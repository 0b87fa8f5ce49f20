import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * nginx (Debian package) as the comparison proxy of the ingress benchmarks: one `server {}` block
 * per name, started in the foreground and reloaded with SIGHUP to its master, stopped by PID.
 */

export interface NginxServerBlock {
  name: string;
  /** Upstream `address:port`. */
  upstream: string;
}

export interface NginxLayout {
  dir: string;
  listen: string;
  /** TLS listener `address:port` with certificate and key files, or undefined for plain HTTP. */
  tls?: { listen: string; certificate: string; key: string };
  workers: number;
}

/** Renders nginx.conf with one server block per name; the blocks share one keep-alive upstream each. */
export function renderNginxConfig(layout: NginxLayout, blocks: readonly NginxServerBlock[]): string {
  const upstreams = new Map<string, string>();
  for (const block of blocks) if (!upstreams.has(block.upstream)) upstreams.set(block.upstream, `up${upstreams.size}`);
  const lines = [
    `worker_processes ${layout.workers};`,
    `pid ${join(layout.dir, 'nginx.pid')};`,
    `error_log ${join(layout.dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(layout.dir, 'tmp-body')};`,
    `  proxy_temp_path ${join(layout.dir, 'tmp-proxy')};`,
    `  fastcgi_temp_path ${join(layout.dir, 'tmp-fastcgi')};`,
    `  uwsgi_temp_path ${join(layout.dir, 'tmp-uwsgi')};`,
    `  scgi_temp_path ${join(layout.dir, 'tmp-scgi')};`,
  ];
  for (const [upstream, name] of upstreams) lines.push(`  upstream ${name} { server ${upstream}; keepalive 32; }`);
  lines.push(`  server { listen ${layout.listen} default_server; ${layout.tls === undefined ? '' : `listen ${layout.tls.listen} ssl default_server; ssl_certificate ${layout.tls.certificate}; ssl_certificate_key ${layout.tls.key};`} return 404; }`);
  for (const block of blocks) {
    const tls = layout.tls === undefined ? '' : ` listen ${layout.tls.listen} ssl; ssl_certificate ${layout.tls.certificate}; ssl_certificate_key ${layout.tls.key};`;
    lines.push(
      `  server { listen ${layout.listen};${tls} server_name ${block.name}; location / { proxy_pass http://${upstreams.get(block.upstream) ?? ''}; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; } }`,
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}

export class NginxProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly configFile: string,
    private readonly exited: Promise<void>,
  ) {}

  static async start(layout: NginxLayout, blocks: readonly NginxServerBlock[]): Promise<NginxProcess> {
    await mkdir(layout.dir, { recursive: true });
    const configFile = join(layout.dir, 'nginx.conf');
    await writeFile(configFile, renderNginxConfig(layout, blocks));
    const child = spawn('/usr/sbin/nginx', ['-c', configFile, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return new NginxProcess(child, configFile, exited);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Writes a new configuration and sends SIGHUP to the master, which re-reads it. */
  async reload(layout: NginxLayout, blocks: readonly NginxServerBlock[]): Promise<void> {
    await writeFile(this.configFile, renderNginxConfig(layout, blocks));
    this.child.kill('SIGHUP');
  }

  async errorLog(layout: NginxLayout): Promise<string> {
    return readFile(join(layout.dir, 'error.log'), 'utf8').catch(() => '');
  }

  /** Stops the master by PID (SIGQUIT, then SIGKILL after 5 s); its workers exit with it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGQUIT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
