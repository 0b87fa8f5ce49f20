import type { Answer, CaaData as PacketCaaData } from 'dns-packet';
import { isCaaData, isSrvData, type StoredRecord } from './store.js';

// TTL 1 means "automatic", which Cloudflare serves as 300 s.
const AUTOMATIC_TTL = 300;
// Cloudflare's SOA values: refresh 10000, retry 2400, expire 604800, minimum (negative TTL) 1800,
// contact dns.cloudflare.com, served with TTL 1800.
const SOA_TIMERS = { refresh: 10000, retry: 2400, expire: 604800, minimum: 1800 };
export const SOA_TTL = 1800;
export const NS_TTL = 86400;

export function soaAnswer(zoneName: string, serial: number, primaryNameServer: string): Answer {
  return {
    name: zoneName,
    type: 'SOA',
    class: 'IN',
    ttl: SOA_TTL,
    data: { mname: primaryNameServer, rname: 'dns.cloudflare.com', serial, ...SOA_TIMERS },
  };
}

export function nsAnswers(zoneName: string, nameServers: readonly string[]): Answer[] {
  return nameServers.map((host) => ({ name: zoneName, type: 'NS', class: 'IN', ttl: NS_TTL, data: host }));
}

/**
 * Splits TXT content into RFC 1035 character-strings. Content made of quoted strings (`"a" "b"`) is
 * unquoted, with `\"`, `\\` and `\DDD` escapes; any other content is taken as raw text and cut into
 * 255-octet strings, so quoted and unquoted content give the same answer as on Cloudflare.
 */
export function txtStrings(content: string): Buffer[] {
  const quoted = parseQuotedStrings(content);
  const parts = quoted ?? [Buffer.from(content, 'utf8')];
  const strings: Buffer[] = [];
  for (const part of parts) {
    if (part.length === 0) strings.push(part);
    for (let offset = 0; offset < part.length; offset += 255) strings.push(part.subarray(offset, offset + 255));
  }
  return strings;
}

function parseQuotedStrings(content: string): Buffer[] | undefined {
  const trimmed = content.trim();
  if (!trimmed.startsWith('"')) return undefined;
  const strings: Buffer[] = [];
  let index = 0;
  while (index < trimmed.length) {
    if (trimmed[index] !== '"') return undefined;
    const bytes: number[] = [];
    index += 1;
    let closed = false;
    while (index < trimmed.length) {
      const char = trimmed[index] ?? '';
      if (char === '"') {
        closed = true;
        index += 1;
        break;
      }
      if (char === '\\') {
        const decimal = /^\d{3}/.exec(trimmed.slice(index + 1));
        if (decimal !== null) {
          bytes.push(Number(decimal[0]) & 0xff);
          index += 4;
          continue;
        }
        index += 1;
      }
      const codePoint = trimmed.codePointAt(index) ?? 0;
      const encoded = Buffer.from(String.fromCodePoint(codePoint), 'utf8');
      bytes.push(...encoded);
      index += codePoint > 0xffff ? 2 : 1;
    }
    if (!closed) return undefined;
    strings.push(Buffer.from(bytes));
    while (trimmed[index] === ' ' || trimmed[index] === '\t') index += 1;
  }
  return strings;
}

function isPacketCaaTag(tag: string): tag is PacketCaaData['tag'] {
  return tag === 'issue' || tag === 'issuewild' || tag === 'iodef';
}

/**
 * Converts a stored record to a DNS answer with the owner name `owner` (differs from the record
 * name for wildcard matches). Proxied A/AAAA records resolve to their own content, whereas Cloudflare
 * returns its anycast addresses, which have no meaning in the sandbox.
 */
export function recordAnswer(record: StoredRecord, owner: string): Answer | undefined {
  const ttl = record.ttl === 1 ? AUTOMATIC_TTL : record.ttl;
  switch (record.type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
      return { name: owner, type: record.type, class: 'IN', ttl, data: record.content };
    case 'TXT':
      return { name: owner, type: 'TXT', class: 'IN', ttl, data: txtStrings(record.content) };
    case 'MX':
      return { name: owner, type: 'MX', class: 'IN', ttl, data: { preference: record.priority ?? 0, exchange: record.content } };
    case 'CAA': {
      const data = record.data;
      if (!isCaaData(data) || !isPacketCaaTag(data.tag)) return undefined;
      return { name: owner, type: 'CAA', class: 'IN', ttl, data: { flags: data.flags, tag: data.tag, value: data.value } };
    }
    case 'SRV': {
      const data = record.data;
      if (!isSrvData(data)) return undefined;
      return { name: owner, type: 'SRV', class: 'IN', ttl, data: { priority: data.priority, weight: data.weight, port: data.port, target: data.target } };
    }
    default:
      return undefined;
  }
}
