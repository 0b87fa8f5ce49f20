import type { TargetState } from './ingress.js';

/**
 * Parsing of the admin socket's `show stat` output (CSV whose first line is `# pxname,svname,...`,
 * HAProxy 2.6 and 3.0). Field names are looked up in the header, so added columns do not matter.
 */

export interface ServerStat {
  backend: string;
  server: string;
  /** `address:port` as HAProxy reports it in the `addr` column. */
  address: string;
  state: TargetState;
  /** Result of the last health check (`L7OK`, `L4CON`, ...), or null without checks. */
  check: string | null;
}

export interface BackendStat {
  backend: string;
  requests: number;
  errors: number;
}

export interface ParsedStats {
  backends: Map<string, BackendStat>;
  servers: ServerStat[];
}

/** Maps HAProxy's server `status` column to a target state. `no check` means up without checks. */
export function targetState(status: string): TargetState {
  const word = status.trim().toUpperCase();
  if (word.startsWith('MAINT')) return 'maintenance';
  if (word.startsWith('DRAIN')) return 'drain';
  if (word === 'UP' || word === 'NO CHECK' || word.startsWith('UP ')) return 'up';
  if (word === 'DOWN' || word.startsWith('DOWN ')) return 'down';
  return 'unknown';
}

function count(value: string | undefined): number {
  const parsed = Number(value ?? '');
  return Number.isFinite(parsed) && value !== '' ? parsed : 0;
}

export function parseShowStat(output: string): ParsedStats {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  const header = lines.shift();
  const backends = new Map<string, BackendStat>();
  const servers: ServerStat[] = [];
  if (header === undefined || !header.startsWith('# ')) return { backends, servers };

  const columns = header.slice(2).split(',');
  const index = new Map(columns.map((name, position) => [name, position]));
  const field = (row: string[], name: string): string | undefined => {
    const position = index.get(name);
    return position === undefined ? undefined : row[position];
  };

  for (const line of lines) {
    const row = line.split(',');
    const backend = field(row, 'pxname') ?? '';
    const name = field(row, 'svname') ?? '';
    if (name === 'FRONTEND') continue;
    if (name === 'BACKEND') {
      const errors = count(field(row, 'hrsp_5xx')) + count(field(row, 'econ')) + count(field(row, 'eresp'));
      backends.set(backend, { backend, requests: count(field(row, 'req_tot')), errors });
      continue;
    }
    const check = field(row, 'check_status') ?? '';
    servers.push({
      backend,
      server: name,
      address: field(row, 'addr') ?? '',
      state: targetState(field(row, 'status') ?? ''),
      check: check === '' ? null : check.replace(/^\* ?/, ''),
    });
  }
  return { backends, servers };
}
