import {
  commentTooLong,
  invalidTtl,
  notProxiable,
  tooManyTags,
  validationFailed,
} from './errors.js';
import { canonicalIPv6, normalizeHostName, parseIPv4, qualifyRecordName } from './record-names.js';
import { isSrvData, type CaaData, type SrvData, type StoredRecord, type StoredZone } from './store.js';
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
  data?: CaaData | SrvData;
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
  if (type === 'SRV') checkSrvName(name);
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
  data?: CaaData | SrvData;
  priority?: number;
}

function readContent(type: SupportedRecordType, body: Body, base: StoredRecord | undefined): ContentFields {
  const priority = readPriority(type, body, base);
  if (type === 'CAA') return readCaa(body, base);
  if (type === 'SRV') return readSrv(body, base);

  const sent = readString(body, 'content');
  if (sent === undefined) {
    if (base !== undefined) return { content: base.content, ...(priority !== undefined ? { priority } : {}) };
    throw validationFailed(`content is required for a ${type} record.`);
  }
  return { content: checkContent(type, sent), ...(priority !== undefined ? { priority } : {}) };
}

function checkContent(type: Exclude<SupportedRecordType, 'CAA' | 'SRV'>, content: string): string {
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

// SRV names are `_service._proto.name` (RFC 2782). Cloudflare's dashboard offers the protocols
// _tcp, _udp and _tls. NOTE: Cloudflare documents neither the codes nor today's wording of SRV
// validation errors. A 2016 user report quotes "Invalid service value.", so the simulator sends
// code 1004 with messages in that style.
const SRV_SERVICE_LABEL = /^_[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SRV_PROTOCOLS: ReadonlySet<string> = new Set(['_tcp', '_udp', '_tls']);
// Cloudflare removed these `data` fields of SRV records in 2024 in favour of the record name.
const DEPRECATED_SRV_FIELDS = ['service', 'proto', 'name'] as const;

function checkSrvName(name: string): void {
  const [service = '', protocol = '', ...rest] = name.split('.');
  if (!SRV_SERVICE_LABEL.test(service)) {
    throw validationFailed(`Invalid service value. The name of an SRV record starts with _service._proto, for example _sip._tcp.example.com; ${JSON.stringify(name)} does not.`);
  }
  if (!SRV_PROTOCOLS.has(protocol) || rest.length === 0) {
    throw validationFailed(`Invalid protocol value. The second label of SRV record ${JSON.stringify(name)} must be _tcp, _udp or _tls.`);
  }
}

function readSrv(body: Body, base: StoredRecord | undefined): ContentFields {
  const sentData = body.data;
  let data: SrvData | undefined;
  if (isBody(sentData)) {
    const deprecated = DEPRECATED_SRV_FIELDS.filter((field) => field in sentData);
    if (deprecated.length > 0) {
      throw validationFailed(`SRV data fields ${deprecated.join(', ')} are no longer supported; put them into the record name (_service._proto.name).`);
    }
    data = {
      priority: readSrvNumber(sentData, 'priority'),
      weight: readSrvNumber(sentData, 'weight'),
      port: readSrvNumber(sentData, 'port'),
      target: readSrvTarget(sentData.target),
    };
  } else {
    const content = readString(body, 'content');
    if (content !== undefined) data = parseSrvContent(content);
  }
  if (data === undefined) {
    if (isSrvData(base?.data)) return { content: base.content, data: base.data };
    throw validationFailed('data with priority, weight, port and target is required for an SRV record.');
  }
  // NOTE: the SDK documents SRV content as priority, weight, port and target. A response quoted in a
  // 2019 user report had weight, port and target with a separate priority, so clients read `data`.
  return { content: `${data.priority} ${data.weight} ${data.port} ${data.target}`, data };
}

function readSrvNumber(data: Body, field: 'priority' | 'weight' | 'port'): number {
  const value = data[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw validationFailed(`SRV ${field} ${JSON.stringify(value)} is invalid; use an integer from 0 to 65535.`);
  }
  return value;
}

function readSrvTarget(value: unknown): string {
  if (value === '.') return '.';
  const target = typeof value === 'string' ? normalizeHostName(value) : undefined;
  if (target === undefined) throw validationFailed(`SRV target ${JSON.stringify(value)} is not a valid host name.`);
  return target;
}

/** Parses the content form `priority weight port target`, which the SDK documents for SRV. */
function parseSrvContent(content: string): SrvData {
  const parts = content.trim().split(/\s+/);
  if (parts.length !== 4) {
    throw validationFailed(`SRV content ${JSON.stringify(content)} is invalid; use the form: 10 5 5060 sip.example.com.`);
  }
  const [priority, weight, port, target] = parts as [string, string, string, string];
  const numbers = { priority: Number(priority), weight: Number(weight), port: Number(port) };
  return {
    priority: readSrvNumber(numbers, 'priority'),
    weight: readSrvNumber(numbers, 'weight'),
    port: readSrvNumber(numbers, 'port'),
    target: readSrvTarget(target),
  };
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
