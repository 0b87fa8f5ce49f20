import { createSocket, type Socket } from 'node:dgram';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';

/**
 * A small DNS server over UDP for tests of the authoritative-server check. It plays two parts on
 * one port of one or more loopback addresses: the resolver that names a zone's name servers (NS
 * and their A records, from `setDelegation`), and a faulty authoritative server that responds
 * to every other query as `setAnswer` sets for the address the query reached.
 */

/** Response of a stub address to queries outside the delegation data. */
export type StubAnswer =
  /** NOERROR without records: a server that does not have the value (yet). */
  | 'empty'
  /** RCODE REFUSED. */
  | 'refused'
  /** No response at all. */
  | 'timeout';

export interface NameServer {
  host: string;
  address: string;
}

export interface DnsStub {
  readonly port: number;
  readonly addresses: readonly string[];
  /** `address:port` of the first address, for a resolver setting. */
  readonly resolver: string;
  /** Sets the name servers the stub returns for NS queries of `zone`, and the A record of each. */
  setDelegation(zone: string, servers: NameServer[]): void;
  setAnswer(address: string, answer: StubAnswer): void;
  /** Queries received per address, for tests that check a server was asked. */
  queryCount(address: string): number;
  close(): Promise<void>;
}

const REFUSED = 5;

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function bind(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (err) => reject(new Error(`cannot bind the DNS stub to ${address}:${port}/udp: ${err.message}; pick another loopback address`)));
    socket.bind(port, address, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** Starts the stub on `port` of every address in `addresses` (127.0.0.x only). Each address answers 'empty' at first. */
export async function startDnsStub(addresses: readonly string[], port: number): Promise<DnsStub> {
  for (const address of addresses) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`DNS stub address ${address} is not a 127.0.0.0/8 address`);
  }
  const delegations = new Map<string, NameServer[]>();
  const answers = new Map<string, StubAnswer>(addresses.map((address) => [address, 'empty']));
  const counts = new Map<string, number>();
  const sockets: Socket[] = [];

  const respond = (query: DecodedPacket, address: string): Buffer | undefined => {
    const question = query.questions?.[0];
    const name = normalize(question?.name ?? '');
    const base = { type: 'response' as const, id: query.id ?? 0, questions: query.questions ?? [] };
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED);

    const servers = delegations.get(name);
    if (servers !== undefined && question?.type === 'NS') {
      const records: Answer[] = servers.map((server) => ({ name, type: 'NS', class: 'IN', ttl: 300, data: server.host }));
      return dnsPacket.encode({ ...base, flags, answers: records });
    }
    const host = [...delegations.values()].flat().find((server) => normalize(server.host) === name);
    if (host !== undefined) {
      const records: Answer[] = question?.type === 'A' ? [{ name, type: 'A', class: 'IN', ttl: 300, data: host.address }] : [];
      return dnsPacket.encode({ ...base, flags, answers: records });
    }

    const answer = answers.get(address) ?? 'empty';
    if (answer === 'timeout') return undefined;
    if (answer === 'refused') return dnsPacket.encode({ ...base, flags: REFUSED, answers: [] });
    return dnsPacket.encode({ ...base, flags, answers: [] });
  };

  try {
    for (const address of addresses) {
      const socket = await bind(address, port);
      socket.on('message', (message, remote) => {
        counts.set(address, (counts.get(address) ?? 0) + 1);
        let query: DecodedPacket;
        try {
          query = dnsPacket.decode(message);
        } catch {
          return;
        }
        const response = respond(query, address);
        if (response !== undefined) socket.send(response, remote.port, remote.address);
      });
      sockets.push(socket);
    }
  } catch (err) {
    for (const socket of sockets) socket.close();
    throw err;
  }

  return {
    port,
    addresses,
    resolver: `${addresses[0] ?? '127.0.0.1'}:${port}`,
    setDelegation(zone, servers) {
      delegations.set(normalize(zone), servers);
    },
    setAnswer(address, answer) {
      if (!answers.has(address)) throw new Error(`the DNS stub does not listen on ${address}; it listens on ${addresses.join(', ')}`);
      answers.set(address, answer);
    },
    queryCount: (address) => counts.get(address) ?? 0,
    async close() {
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
