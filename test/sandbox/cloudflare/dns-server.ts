import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { findFreePort } from '../ports.js';
import { answerQuery, udpLimit, type DnsView } from './dns-answer.js';

const TCP_IDLE_MS = 10_000;
const PORT_ATTEMPTS = 5;

export interface DnsServer {
  readonly port: number;
  close(): Promise<void>;
}

function decode(message: Buffer): DecodedPacket | undefined {
  try {
    return dnsPacket.decode(message);
  } catch {
    // Undecodable input gets no answer, like a server that drops garbage.
    return undefined;
  }
}

function encodeForUdp(response: Packet, limit: number): Buffer {
  const full = dnsPacket.encode(response);
  if (full.length <= limit) return full;
  // Too large for UDP: send the header and question with TC set so the client retries over TCP.
  return dnsPacket.encode({
    ...response,
    flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Reads 2-octet length-prefixed DNS messages from a TCP stream (RFC 1035 section 4.2.2). */
function serveTcpConnection(socket: Socket, view: () => DnsView): void {
  let buffered = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      const query = decode(message);
      if (query === undefined) {
        socket.destroy();
        return;
      }
      const response = answerQuery(query, view());
      if (response === undefined) continue;
      const encoded = dnsPacket.encode(response);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(encoded.length, 0);
      socket.write(Buffer.concat([prefix, encoded]));
    }
  });
}

/**
 * Starts the authoritative DNS server on one port for UDP and TCP. `view` is called per query, so
 * API changes show at once unless the store delays them. With `fixedPort` the server binds that
 * port once (a second server instance on another address shares the first one's port) instead of
 * trying free ports.
 */
export async function startDnsServer(host: string, view: () => DnsView, fixedPort?: number): Promise<DnsServer> {
  const connections = new Set<Socket>();
  const tcp = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serveTcpConnection(socket, view);
  });

  let udp: UdpSocket | undefined;
  let port = 0;
  let lastError: unknown;
  // The free TCP port may be taken for UDP, or taken again before we bind; try a few ports.
  const attempts = fixedPort === undefined ? PORT_ATTEMPTS : 1;
  for (let attempt = 0; attempt < attempts && udp === undefined; attempt += 1) {
    try {
      port = fixedPort ?? (await findFreePort(host));
      await listenTcp(tcp, host, port);
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      udp = await bindUdp(host, port);
    } catch (error) {
      lastError = error;
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  }
  if (udp === undefined) {
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`could not bind the DNS simulator to one UDP and TCP port on ${host} after ${attempts} attempts: ${reason}`);
  }

  const udpSocket = udp;
  udpSocket.on('message', (message, remote) => {
    const query = decode(message);
    if (query === undefined) return;
    const response = answerQuery(query, view());
    if (response === undefined) return;
    udpSocket.send(encodeForUdp(response, udpLimit(query)), remote.port, remote.address);
  });
  udpSocket.on('error', (error) => console.error(`DNS simulator UDP socket on ${host}:${port} failed: ${error.message}`));

  return {
    port,
    async close(): Promise<void> {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        new Promise<void>((resolve) => udpSocket.close(() => resolve())),
      ]);
    },
  };
}
