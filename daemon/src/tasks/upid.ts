import { readFileSync } from 'node:fs';

/** The fields of a task id, as PVE's pve-common (`PVE::UPID`) writes them. */
export interface UpidFields {
  node: string;
  pid: number;
  /** Start of the process in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  pstart: number;
  /** Start of the task, Unix seconds. */
  starttime: number;
  type: string;
  id: string;
  user: string;
}

const nodePattern = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const upidPattern = /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

function hex8(value: number): string {
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/**
 * Formats `UPID:node:pid:pstart:starttime:type:id:user:` with the numbers in upper-case hex of at
 * least 8 digits and the trailing colon, as PVE does. Throws when a field would break the parse.
 */
export function formatUpid(fields: UpidFields): string {
  if (!nodePattern.test(fields.node)) throw new Error(`Invalid node name "${fields.node}" for a task id: use letters, digits and inner hyphens`);
  for (const [name, value] of [['type', fields.type], ['id', fields.id], ['user', fields.user]] as const) {
    if (/[:\s]/.test(value)) throw new Error(`Invalid task ${name} "${value}": a task id field may contain no colon or whitespace`);
  }
  if (fields.type === '' || fields.user === '') throw new Error('Invalid task id: type and user must not be empty');
  return `UPID:${fields.node}:${hex8(fields.pid)}:${hex8(fields.pstart)}:${hex8(fields.starttime)}:${fields.type}:${fields.id}:${fields.user}:`;
}

/** Parses a task id; returns null for a string that is not one. */
export function parseUpid(upid: string): UpidFields | null {
  const match = upidPattern.exec(upid);
  if (match === null) return null;
  const [, node, , pid, pstart, starttime, type, id, user] = match;
  if (node === undefined || pid === undefined || pstart === undefined || starttime === undefined || type === undefined || id === undefined || user === undefined) return null;
  return { node, pid: parseInt(pid, 16), pstart: parseInt(pstart, 16), starttime: parseInt(starttime, 16), type, id, user };
}

/**
 * Reads the start time of this process in clock ticks after boot, from /proc/self/stat (field 22,
 * counted after the command name, which may itself contain spaces). Returns 0 without /proc.
 */
export function processStartTicks(statPath = '/proc/self/stat'): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3, so field 22 has index 19.
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : 0;
  } catch {
    return 0;
  }
}
