import {
  commentTooLong,
  invalidTtl,
  notProxiable,
  tooManyTags,
  validationFailed,
} from './errors.js';
import { canonicalIPv6, normalizeHostName, parseIPv4, qualifyRecordName } from './record-names.js';
import type { CaaData, StoredRecord, StoredZone } from './store.js';
import { SUPPORTED_RECORD_TYPES, type SupportedRecordType } from './types.js';

/** Fields of a record that a write request decides; ids and timestamps are added by the caller. */
export interface RecordFields {
  type: SupportedRecordType;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
  comment: string | null;
  tags: string[];
  priority?: number;
  data?: CaaData;
}

export type WriteMode = 'create' | 'overwrite' | 'edit';

const PROXIABLE_TYPES: ReadonlySet<string> = new Set(['A', 'AAAA', 'CNAME']);
// Cloudflare plan limits: comments take up to 100 characters on Free and 500 on paid plans. Tags
// exist only on paid plans, at most 20 per record, as `name:value` with a name of letters, digits,
// `-` and `_` up to 32 characters and a value up to 100 characters. Comments may not contain \n or
// \r (developers.cloudflare.com/dns/manage-dns-records/reference/record-attributes/).
const COMMENT_MAX: Record<StoredZone['plan'], number> = { free: 100, pro: 500 };
const TAG_QUOTA: Record<StoredZone['plan'], number> = { free: 0, pro: 20 };
const TAG = /^[A-Za-z0-9_-]{1,32}:.{0,100}$/s;
const CAA_TAGS: ReadonlySet<string> = new Set(['issue', 'issuewild', 'iodef']);

type Body = Record<string, unknown>;

export function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSupportedType(type: string): type is SupportedRecordType {
  return (SUPPORTED_RECORD_TYPES as readonly string[]).includes(type);
}

function readString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationFailed(`${field} must be a string, got ${typeof value}.`);
  return value;
}

/**
 * Builds the fields of a record from a request body. `edit` (PATCH) starts from `existing` and
 * changes only the sent fields. `overwrite` (PUT) resets every field that is not sent to its
 * default (ttl 1, proxied false, no comment, no tags), as Cloudflare documents for PUT.
 */
export function readRecordFields(
  zone: StoredZone,
  body: unknown,
  mode: WriteMode,
  existing?: StoredRecord,
): RecordFields {
  if (!isBody(body)) throw validationFailed('The request body must be a JSON object describing a DNS record.');
  const base = mode === 'edit' ? existing : undefined;

  const type = readType(body, base, existing);
  const name = readName(zone, body, base);
  const { content, data, priority } = readContent(type, body, base);
  const proxied = readProxied(type, body, base);
  const ttl = readTtl(body, base, proxied);
  const comment = readComment(zone, body, base);
  const tags = readTags(zone, body, base);

  return {
    type,
    name,
    content,
    ttl,
    proxied,
    comment,
    tags,
    ...(priority !== undefined ? { priority } : {}),
    ...(data !== undefined ? { data } : {}),
  };
}

function readType(body: Body, base: StoredRecord | undefined, existing: StoredRecord | undefined): SupportedRecordType {
  const sent = readString(body, 'type')?.toUpperCase();
  const type = sent ?? base?.type;
  if (type === undefined) throw validationFailed('type is required, for example "A" or "TXT".');
  if (!isSupportedType(type)) {
    throw validationFailed(
      `DNS record type ${type} is not supported by the Cloudflare simulator; use one of ${SUPPORTED_RECORD_TYPES.join(', ')}.`,
    );
  }
  // Changing the type in place is unsupported since 2026-06-30 (Cloudflare API deprecations).
  if (existing !== undefined && existing.type !== type) {
    throw validationFailed(
      `Changing the type of DNS record ${existing.id} from ${existing.type} to ${type} is not supported; delete it and create a new record.`,
    );
  }
  return type;
}

function readName(zone: StoredZone, body: Body, base: StoredRecord | undefined): string {
  const sent = readString(body, 'name');
  if (sent === undefined) {
    if (base !== undefined) return base.name;
    throw validationFailed('name is required, for example "@" or "www".');
  }
  const name = qualifyRecordName(sent, zone.name);
  if (name === undefined) throw validationFailed(`DNS name ${JSON.stringify(sent)} is invalid.`);
  return name;
}

interface ContentFields {
  content: string;
  data?: CaaData;
  priority?: number;
}

function readContent(type: SupportedRecordType, body: Body, base: StoredRecord | undefined): ContentFields {
  const priority = readPriority(type, body, base);
  if (type === 'CAA') return readCaa(body, base);

  const sent = readString(body, 'content');
  if (sent === undefined) {
    if (base !== undefined) return { content: base.content, ...(priority !== undefined ? { priority } : {}) };
    throw validationFailed(`content is required for a ${type} record.`);
  }
  return { content: checkContent(type, sent), ...(priority !== undefined ? { priority } : {}) };
}

function checkContent(type: Exclude<SupportedRecordType, 'CAA'>, content: string): string {
  switch (type) {
    case 'A': {
      const address = parseIPv4(content);
      if (address === undefined) throw validationFailed(`Content for A record ${JSON.stringify(content)} is not a valid IPv4 address.`);
      return address;
    }
    case 'AAAA': {
      const address = canonicalIPv6(content);
      if (address === undefined) throw validationFailed(`Content for AAAA record ${JSON.stringify(content)} is not a valid IPv6 address.`);
      return address;
    }
    case 'CNAME':
    case 'MX': {
      const host = normalizeHostName(content);
      if (host === undefined) throw validationFailed(`Content for ${type} record ${JSON.stringify(content)} is not a valid host name.`);
      return host;
    }
    case 'TXT':
      // TXT content is stored exactly as sent, quoted or not.
      if (content === '') throw validationFailed('Content for TXT record must not be empty.');
      return content;
  }
}

function readPriority(type: SupportedRecordType, body: Body, base: StoredRecord | undefined): number | undefined {
  if (type !== 'MX') return undefined;
  const sent = body.priority;
  if (sent === undefined || sent === null) {
    if (base?.priority !== undefined) return base.priority;
    throw validationFailed('priority is required for an MX record, 0 to 65535.');
  }
  if (typeof sent !== 'number' || !Number.isInteger(sent) || sent < 0 || sent > 65535) {
    throw validationFailed(`priority ${JSON.stringify(sent)} is invalid; use an integer from 0 to 65535.`);
  }
  return sent;
}

function readCaa(body: Body, base: StoredRecord | undefined): ContentFields {
  const sentData = body.data;
  let data: CaaData | undefined;
  if (isBody(sentData)) {
    const { flags = 0, tag, value } = sentData;
    if (typeof flags !== 'number' || typeof tag !== 'string' || typeof value !== 'string') {
      throw validationFailed('CAA data needs a numeric flags and string tag and value, for example {flags: 0, tag: "issue", value: "ca.example"}.');
    }
    data = { flags, tag, value };
  } else {
    const content = readString(body, 'content');
    if (content !== undefined) data = parseCaaContent(content);
  }
  if (data === undefined) {
    if (base?.data !== undefined) return { content: base.content, data: base.data };
    throw validationFailed('data with flags, tag and value is required for a CAA record.');
  }
  if (!Number.isInteger(data.flags) || data.flags < 0 || data.flags > 255) {
    throw validationFailed(`CAA flags ${data.flags} is invalid; use an integer from 0 to 255.`);
  }
  if (!CAA_TAGS.has(data.tag)) {
    throw validationFailed(`CAA tag ${JSON.stringify(data.tag)} is invalid; use issue, issuewild or iodef.`);
  }
  return { content: `${data.flags} ${data.tag} "${data.value}"`, data };
}

function parseCaaContent(content: string): CaaData {
  const match = /^(\d{1,3})\s+(\S+)\s+"?([^"]*)"?$/.exec(content.trim());
  if (match === null) {
    throw validationFailed(`CAA content ${JSON.stringify(content)} is invalid; use the form: 0 issue "ca.example".`);
  }
  return { flags: Number(match[1]), tag: match[2] ?? '', value: match[3] ?? '' };
}

function readProxied(type: SupportedRecordType, body: Body, base: StoredRecord | undefined): boolean {
  const sent = body.proxied;
  if (sent !== undefined && sent !== null && typeof sent !== 'boolean') {
    throw validationFailed(`proxied must be true or false, got ${JSON.stringify(sent)}.`);
  }
  const proxied = sent ?? base?.proxied ?? false;
  if (proxied && !PROXIABLE_TYPES.has(type)) throw notProxiable();
  return proxied;
}

function readTtl(body: Body, base: StoredRecord | undefined, proxied: boolean): number {
  const sent = body.ttl;
  let ttl: number;
  if (sent === undefined || sent === null) ttl = base?.ttl ?? 1;
  else if (typeof sent === 'number' && Number.isInteger(sent) && (sent === 1 || (sent >= 60 && sent <= 86400))) ttl = sent;
  else throw invalidTtl();
  // Proxied records always have TTL Automatic. NOTE: whether Cloudflare rejects another TTL or
  // stores 1 is undocumented; the simulator stores 1.
  return proxied ? 1 : ttl;
}

function readComment(zone: StoredZone, body: Body, base: StoredRecord | undefined): string | null {
  if (!('comment' in body)) return base?.comment ?? null;
  const sent = body.comment;
  if (sent === null || sent === '') return null;
  if (typeof sent !== 'string') throw validationFailed(`comment must be a string, got ${typeof sent}.`);
  const max = COMMENT_MAX[zone.plan];
  if ([...sent].length > max) throw commentTooLong(max);
  // NOTE: Cloudflare documents that comments may not contain line breaks but not the error code.
  if (/[\r\n]/.test(sent)) throw validationFailed('DNS record comment must not contain line breaks (\\n or \\r).');
  return sent;
}

function readTags(zone: StoredZone, body: Body, base: StoredRecord | undefined): string[] {
  if (!('tags' in body)) return base !== undefined ? [...base.tags] : [];
  const sent = body.tags;
  if (sent === null) return [];
  if (!Array.isArray(sent) || !sent.every((tag): tag is string => typeof tag === 'string')) {
    throw validationFailed('tags must be an array of "name:value" strings.');
  }
  const quota = TAG_QUOTA[zone.plan];
  if (sent.length > quota) throw tooManyTags(sent.length, quota);
  const invalid = sent.find((tag) => !TAG.test(tag));
  if (invalid !== undefined) {
    throw validationFailed(`tag ${JSON.stringify(invalid)} is invalid; use name:value with a name of letters, digits, - or _ up to 32 characters.`);
  }
  return sent;
}

export function quotaFor(zone: StoredZone): number {
  // Free zones created since 2024-09-01 get 200 records; paid plans 3,500 (Cloudflare plans, 2025).
  return zone.plan === 'free' ? 200 : 3500;
}

/** Largest number of operations one batch request may carry on the zone's plan. */
export function batchLimitFor(zone: StoredZone): number {
  return zone.plan === 'free' ? 200 : 3500;
}
