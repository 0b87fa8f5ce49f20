import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import { nsAnswers, recordAnswer, soaAnswer } from './dns-records.js';
import type { StoredRecord } from './store.js';
import type { DnsFault } from './types.js';

/** DNS RCODE values (RFC 1035 section 4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const MAX_CNAME_CHAIN = 8;
/** UDP payload size the server offers in EDNS answers (the DNS Flag Day 2020 value). */
export const EDNS_UDP_SIZE = 1232;

/** A zone as the DNS server publishes it at one moment. */
export interface PublishedZone {
  name: string;
  serial: number;
  records: readonly StoredRecord[];
}

export interface DnsView {
  /** Active zones only, with their published records. */
  zones: PublishedZone[];
  nameServers: readonly string[];
  /** Address the name server host names resolve to, unless `nameServerAddresses` names another. */
  address: string;
  /** Address of each name server host that runs on its own address (a second server instance). */
  nameServerAddresses?: ReadonlyMap<string, string>;
  faults: ReadonlyMap<string, DnsFault>;
  /** Receives every decoded question, when set. */
  queryLog?: DnsQueryLogEntry[];
}

export interface DnsQueryLogEntry {
  name: string;
  type: string;
  /** Epoch milliseconds when the query arrived. */
  time: number;
}

interface Resolution {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function isInZone(name: string, zoneName: string): boolean {
  return name === zoneName || name.endsWith(`.${zoneName}`);
}

function findZone(view: DnsView, name: string): PublishedZone | undefined {
  let best: PublishedZone | undefined;
  for (const zone of view.zones) {
    if (isInZone(name, zone.name) && (best === undefined || zone.name.length > best.name.length)) best = zone;
  }
  return best;
}

/** All answers owned by `name` in the zone, including the apex SOA and NS set. */
function rrsetsAt(zone: PublishedZone, view: DnsView, name: string, owner = name): Answer[] {
  const answers: Answer[] = [];
  if (name === zone.name) {
    answers.push(soaAnswer(zone.name, zone.serial, view.nameServers[0] ?? 'ns.invalid'));
    answers.push(...nsAnswers(zone.name, view.nameServers));
  }
  for (const record of zone.records) {
    if (record.name !== name) continue;
    const answer = recordAnswer(record, owner);
    if (answer !== undefined) answers.push(answer);
  }
  return answers;
}

/** Checks whether `name` exists in the zone, as an owner name or as an empty non-terminal. */
function nameExists(zone: PublishedZone, name: string): boolean {
  if (name === zone.name) return true;
  return zone.records.some((record) => record.name === name || record.name.endsWith(`.${name}`));
}

/**
 * Finds the answers for `name`, applying wildcard synthesis (RFC 4592): when the name does not
 * exist, `*.<closest encloser>` answers for it.
 */
function ownedAnswers(zone: PublishedZone, view: DnsView, name: string): Answer[] | undefined {
  if (nameExists(zone, name)) return rrsetsAt(zone, view, name);
  let encloser = name;
  while (encloser !== zone.name) {
    encloser = encloser.slice(encloser.indexOf('.') + 1);
    if (nameExists(zone, encloser)) break;
  }
  const wildcard = `*.${encloser}`;
  if (!zone.records.some((record) => record.name === wildcard)) return undefined;
  return rrsetsAt(zone, view, wildcard, name);
}

function resolveInZone(zone: PublishedZone, view: DnsView, name: string, type: string, depth: number): Resolution {
  const negative = (rcode: number): Resolution => ({
    rcode,
    answers: [],
    authorities: [soaAnswer(zone.name, zone.serial, view.nameServers[0] ?? 'ns.invalid')],
  });
  const owned = ownedAnswers(zone, view, name);
  if (owned === undefined) return negative(RCODE.NXDOMAIN);

  const matching = type === 'ANY' ? owned : owned.filter((answer) => answer.type === type);
  if (matching.length > 0) return { rcode: RCODE.NOERROR, answers: matching, authorities: [] };

  const cname = owned.find((answer) => answer.type === 'CNAME');
  if (cname === undefined || cname.type !== 'CNAME') return negative(RCODE.NOERROR);

  // Follow the CNAME inside the served zones; the RCODE then belongs to the last name (RFC 6604).
  const target = normalizeName(cname.data);
  const targetZone = findZone(view, target);
  if (targetZone === undefined || depth >= MAX_CNAME_CHAIN) return { rcode: RCODE.NOERROR, answers: [cname], authorities: [] };
  const rest = resolveInZone(targetZone, view, target, type, depth + 1);
  return { rcode: rest.rcode, answers: [cname, ...rest.answers], authorities: rest.authorities };
}

/** Outcome for one query: a response packet, or `undefined` to send nothing (timeout fault). */
export function answerQuery(query: DecodedPacket, view: DnsView): Packet | undefined {
  const question = query.questions?.[0];
  const recursionDesired = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  const edns = query.additionals?.some((answer) => answer.type === 'OPT') === true;
  const respond = (rcode: number, authoritative: boolean, resolution?: Resolution): Packet => ({
    type: 'response',
    id: query.id ?? 0,
    flags: (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | recursionDesired | (opcode << 11) | rcode,
    questions: query.questions ?? [],
    answers: resolution?.answers ?? [],
    authorities: resolution?.authorities ?? [],
    additionals: edns ? [optRecord()] : [],
  });

  if (opcode !== 0) return respond(RCODE.NOTIMP, false);
  if (question === undefined || (query.questions?.length ?? 0) !== 1) return respond(RCODE.FORMERR, false);
  const name = normalizeName(question.name);
  // dns-packet decodes QTYPE 255 as 'ANY', which its type definitions leave out.
  const type: string = question.type;
  view.queryLog?.push({ name, type, time: Date.now() });

  const fault = view.faults.get(name);
  if (fault === 'timeout') return undefined;
  if (fault === 'refused') return respond(RCODE.REFUSED, false);
  if (fault === 'servfail') return respond(RCODE.SERVFAIL, false);
  if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY') return respond(RCODE.REFUSED, false);

  if (view.nameServers.includes(name)) {
    const answers: Answer[] =
      type === 'A' || type === 'ANY' ? [{ name, type: 'A', class: 'IN', ttl: 86400, data: view.nameServerAddresses?.get(name) ?? view.address }] : [];
    return respond(RCODE.NOERROR, true, { rcode: RCODE.NOERROR, answers, authorities: [] });
  }

  const zone = findZone(view, name);
  if (zone === undefined) return respond(RCODE.REFUSED, false);
  const resolution = resolveInZone(zone, view, name, type, 0);
  return respond(resolution.rcode, true, resolution);
}

function optRecord(): OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: EDNS_UDP_SIZE,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** Largest UDP response the client accepts: 512 octets, or its EDNS size up to ours (RFC 6891). */
export function udpLimit(query: DecodedPacket): number {
  const opt = query.additionals?.find((answer): answer is OptAnswer => answer.type === 'OPT');
  if (opt === undefined) return 512;
  return Math.max(512, Math.min(opt.udpPayloadSize, EDNS_UDP_SIZE));
}
