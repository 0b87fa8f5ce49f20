import type { IncomingMessage } from 'node:http';

import { BareHttpError } from './errors.js';
import type { RawParameter } from './parameters.js';

/** Largest request body the simulator reads; pveproxy's own limit is larger, but API calls stay far below it. */
const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BareHttpError(413, 'Request Entity Too Large', true);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Decodes `a=1&b=2` (also `;`-separated) as pve-http-server `decode_urlencoded` does: `+` is a
 * space, a repeated key becomes a list, and a key without `=` has no value.
 */
export function decodeUrlEncoded(data: string): Record<string, RawParameter> {
  const result: Record<string, RawParameter> = {};
  if (data === '') return result;
  for (const pair of data.split(/[&;]/)) {
    const separator = pair.indexOf('=');
    const key = decodeComponent(separator < 0 ? pair : pair.slice(0, separator));
    if (separator < 0) {
      result[key] = null;
      continue;
    }
    const value = decodeComponent(pair.slice(separator + 1));
    const previous = result[key];
    if (Array.isArray(previous)) previous.push(value);
    else if (typeof previous === 'string') result[key] = [previous, value];
    else result[key] = value;
  }
  return result;
}

function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape such as '%zz' stays as written, as Perl's substitution leaves it.
    return spaced;
  }
}

/** Reads a JSON request body into parameters; nested objects and arrays of non-strings are kept as text. */
export function decodeJsonBody(body: string): Record<string, RawParameter> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BareHttpError(500, `malformed JSON request body: ${reason}`, true);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BareHttpError(500, 'JSON request body must be an object of parameters', true);
  }
  const result: Record<string, RawParameter> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      result[key] = value;
    } else if (Array.isArray(value)) {
      result[key] = value.map((item) => String(item));
    } else {
      result[key] = JSON.stringify(value);
    }
  }
  return result;
}
