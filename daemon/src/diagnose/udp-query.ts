import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';

/** What one authoritative server answered for a TXT query. */
export type TxtAnswer =
  | { kind: 'answer'; values: string[] }
  /** NXDOMAIN, or NOERROR without TXT records. */
  | { kind: 'missing'; rcode: string }
  | { kind: 'refused' }
  | { kind: 'error'; rcode: string }
  | { kind: 'timeout' };

/** EDNS payload size offered, the DNS Flag Day 2020 value, so that several TXT values fit in UDP. */
const ednsPayloadSize = 1232;

function buildQuery(id: number, name: string): Buffer {
  const query: Packet = {
    type: 'query',
    id,
    // Recursion not desired: the server must answer from its own zone data.
    flags: 0,
    questions: [{ type: 'TXT', class: 'IN', name }],
    additionals: [{ name: '.', type: 'OPT', udpPayloadSize: ednsPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
  return dnsPacket.encode(query);
}

/** Names of the RCODE values an authoritative server sends (RFC 1035 section 4.1.1). */
const rcodeNames: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

function readAnswer(response: DecodedPacket, name: string): TxtAnswer {
  const code = (response.flags ?? 0) & 0xf;
  const rcode = rcodeNames[code] ?? `RCODE ${code}`;
  if (rcode === 'REFUSED') return { kind: 'refused' };
  if (rcode === 'NXDOMAIN') return { kind: 'missing', rcode };
  if (rcode !== 'NOERROR') return { kind: 'error', rcode };
  const values: string[] = [];
  for (const answer of response.answers ?? []) {
    if (answer.type !== 'TXT' || answer.name.toLowerCase() !== name.toLowerCase()) continue;
    const chunks = Array.isArray(answer.data) ? answer.data : [answer.data];
    values.push(chunks.map((chunk) => (typeof chunk === 'string' ? chunk : chunk.toString('utf8'))).join(''));
  }
  return values.length === 0 ? { kind: 'missing', rcode } : { kind: 'answer', values };
}

/**
 * Asks the server at `address`:`port` directly over UDP for the TXT records of `name`, once,
 * without recursion. Answers whose id or question do not match are ignored until the timeout.
 */
export function queryTxt(address: string, port: number, name: string, timeoutMs: number, signal?: AbortSignal): Promise<TxtAnswer> {
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  const id = randomInt(0, 65_536);
  return new Promise<TxtAnswer>((resolve) => {
    const finish = (answer: TxtAnswer): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.close();
      resolve(answer);
    };
    const onAbort = (): void => finish({ kind: 'timeout' });
    const timer = setTimeout(onAbort, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', () => finish({ kind: 'error', rcode: 'network error' }));
    socket.on('message', (message) => {
      let response: DecodedPacket;
      try {
        response = dnsPacket.decode(message);
      } catch {
        return;
      }
      const question = response.questions?.[0];
      if (response.id !== id || question?.name.toLowerCase() !== name.toLowerCase()) return;
      finish(readAnswer(response, name));
    });
    socket.send(buildQuery(id, name), port, address, (err) => {
      if (err !== null && err !== undefined) finish({ kind: 'error', rcode: `send failed: ${err.message}` });
    });
  });
}
