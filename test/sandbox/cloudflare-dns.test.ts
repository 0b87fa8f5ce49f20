import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Cloudflare from 'cloudflare';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { startCloudflareSimulator, type CloudflareSimulator, type SimZone } from './cloudflare/index.js';

const TOKEN = 'dns-test-'.padEnd(40, 'x');

function queryPacket(name: string, type: RecordType, recursionDesired = true): Packet {
  return {
    type: 'query',
    id: Math.floor(Math.random() * 65535),
    flags: recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name, class: 'IN' }],
  };
}

/** Sends one query over UDP and returns the decoded response; fails after `timeoutMs`. */
async function queryUdp(port: number, packet: Packet, timeoutMs = 1000): Promise<DecodedPacket> {
  const socket = createSocket('udp4');
  try {
    return await new Promise<DecodedPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no UDP answer within ${timeoutMs} ms`)), timeoutMs);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(dnsPacket.decode(message));
      });
      socket.send(dnsPacket.encode(packet), port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Sends one query over TCP with the 2-octet length prefix and returns the decoded response. */
async function queryTcp(port: number, packet: Packet): Promise<DecodedPacket> {
  const socket = new Socket();
  try {
    return await new Promise<DecodedPacket>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error('no TCP answer within 1000 ms')), 1000);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
        clearTimeout(timer);
        resolve(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
      });
      socket.connect(port, '127.0.0.1', () => {
        const message = dnsPacket.encode(packet);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(message.length, 0);
        socket.write(Buffer.concat([prefix, message]));
      });
    });
  } finally {
    socket.destroy();
  }
}

function rcodeOf(response: DecodedPacket): string | undefined {
  return (response as DecodedPacket & { rcode?: string }).rcode;
}

async function resolveError(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
  return undefined;
}

describe('cloudflare simulator DNS', () => {
  let sim: CloudflareSimulator;
  let resolver: Resolver;
  let cf: Cloudflare;
  let zone: SimZone;

  before(async () => {
    sim = await startCloudflareSimulator();
    zone = sim.addZone('example.test');
    sim.addZone('pending.test', { status: 'pending' });
    sim.addToken(TOKEN, { zones: 'all', permissions: ['zone:read', 'dns_records:edit'] });
    cf = new Cloudflare({ apiToken: TOKEN, apiKey: null, apiEmail: null, baseURL: sim.apiBaseUrl, apiVersion: '2026-12-04', maxRetries: 0 });
    sim.addRecord('example.test', { type: 'A', name: 'www', content: '192.0.2.10', ttl: 120 });
    sim.addRecord('example.test', { type: 'AAAA', name: 'www', content: '2001:db8::10' });
    sim.addRecord('example.test', { type: 'CNAME', name: 'alias', content: 'www.example.test' });
    sim.addRecord('example.test', { type: 'CNAME', name: 'outside', content: 'somewhere.invalid' });
    sim.addRecord('example.test', { type: 'MX', name: '@', content: 'mail.example.test', priority: 10 });
    sim.addRecord('example.test', { type: 'TXT', name: 'quoted', content: '"part one" "part two"' });
    sim.addRecord('example.test', { type: 'A', name: '*.wild', content: '192.0.2.99' });
    sim.addRecord('example.test', { type: 'A', name: 'deep.ent', content: '192.0.2.11' });
    resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([`127.0.0.1:${sim.dnsPort}`]);
  });

  after(async () => {
    await sim.stop();
  });

  test('A and AAAA answers', async () => {
    const a = await resolver.resolve4('www.example.test', { ttl: true });
    const aaaa = await resolver.resolve6('www.example.test');
    assert.deepEqual(a, [{ address: '192.0.2.10', ttl: 120 }]);
    assert.deepEqual(aaaa, ['2001:db8::10']);
  });

  test('TXT created through the API', async () => {
    await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: '_acme-challenge.app', content: 'abc123', ttl: 1 });
    const txt = await resolver.resolveTxt('_acme-challenge.app.example.test');
    assert.deepEqual(txt, [['abc123']]);
  });

  test('quoted TXT splits into strings', async () => {
    const txt = await resolver.resolveTxt('quoted.example.test');
    assert.deepEqual(txt, [['part one', 'part two']]);
  });

  test('long TXT splits at 255 octets', async () => {
    sim.addRecord('example.test', { type: 'TXT', name: 'long', content: 'y'.repeat(300) });
    const txt = await resolver.resolveTxt('long.example.test');
    assert.deepEqual(txt.map((strings) => strings.map((part) => part.length)), [[255, 45]]);
  });

  test('NS and SOA at the apex', async () => {
    const ns = await resolver.resolveNs('example.test');
    const soa = await resolver.resolveSoa('example.test');
    assert.deepEqual([...ns].sort(), [...sim.nameServers].sort());
    assert.equal(soa.nsname, sim.nameServers[0]);
    assert.equal(soa.hostmaster, 'dns.cloudflare.com');
    assert.equal(soa.minttl, 1800);
  });

  test('CAA answer', async () => {
    await cf.dns.records.create({ zone_id: zone.id, type: 'CAA', name: '@', data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' }, ttl: 1 });
    const caa = await resolver.resolveCaa('example.test');
    assert.deepEqual(caa, [{ critical: 0, issue: 'letsencrypt.org' }]);
  });

  test('MX answer', async () => {
    const mx = await resolver.resolveMx('example.test');
    assert.deepEqual(mx, [{ exchange: 'mail.example.test', priority: 10 }]);
  });

  test('CNAME chain is followed', async () => {
    const response = await queryUdp(sim.dnsPort, queryPacket('alias.example.test', 'A'));
    assert.deepEqual(response.answers?.map((answer) => answer.type), ['CNAME', 'A']);
    assert.equal(response.flag_aa, true);
  });

  test('CNAME out of zone stops', async () => {
    const response = await queryUdp(sim.dnsPort, queryPacket('outside.example.test', 'A'));
    assert.deepEqual(response.answers?.map((answer) => answer.type), ['CNAME']);
    assert.equal(rcodeOf(response), 'NOERROR');
  });

  test('wildcard answers', async () => {
    const a = await resolver.resolve4('any.thing.wild.example.test');
    assert.deepEqual(a, ['192.0.2.99']);
  });

  test('missing name is NXDOMAIN with SOA', async () => {
    const code = await resolveError(resolver.resolve4('missing.example.test'));
    const response = await queryUdp(sim.dnsPort, queryPacket('missing.example.test', 'A'));
    assert.equal(code, 'ENOTFOUND');
    assert.equal(rcodeOf(response), 'NXDOMAIN');
    assert.equal(response.flag_aa, true);
    assert.deepEqual(response.authorities?.map((answer) => answer.type), ['SOA']);
  });

  test('missing type is NODATA with SOA', async () => {
    const code = await resolveError(resolver.resolveTxt('www.example.test'));
    const response = await queryUdp(sim.dnsPort, queryPacket('www.example.test', 'TXT'));
    assert.equal(code, 'ENODATA');
    assert.equal(rcodeOf(response), 'NOERROR');
    assert.deepEqual(response.answers, []);
    assert.deepEqual(response.authorities?.map((answer) => answer.type), ['SOA']);
  });

  test('empty non-terminal is NODATA', async () => {
    const response = await queryUdp(sim.dnsPort, queryPacket('ent.example.test', 'A'));
    assert.equal(rcodeOf(response), 'NOERROR');
    assert.deepEqual(response.answers, []);
  });

  test('foreign name is REFUSED', async () => {
    const code = await resolveError(resolver.resolve4('example.org'));
    const response = await queryUdp(sim.dnsPort, queryPacket('example.org', 'A'));
    assert.equal(code, 'EREFUSED');
    assert.equal(rcodeOf(response), 'REFUSED');
    assert.equal(response.flag_aa, false);
  });

  test('pending zone is REFUSED', async () => {
    const response = await queryUdp(sim.dnsPort, queryPacket('pending.test', 'SOA'));
    assert.equal(rcodeOf(response), 'REFUSED');
  });

  test('name server hosts resolve here', async () => {
    for (const host of sim.nameServers) {
      const addresses = await resolver.resolve4(host);
      assert.deepEqual(addresses, [sim.dnsAddress]);
    }
  });

  test('answers without RD', async () => {
    const response = await queryUdp(sim.dnsPort, queryPacket('www.example.test', 'A', false));
    assert.equal(response.flag_rd, false);
    assert.equal(response.answers?.length, 1);
  });

  test('TCP query with length prefix', async () => {
    const response = await queryTcp(sim.dnsPort, queryPacket('www.example.test', 'A'));
    assert.equal(response.flag_aa, true);
    assert.deepEqual(response.answers?.map((answer) => (answer.type === 'A' ? answer.data : answer.type)), ['192.0.2.10']);
  });

  test('oversized UDP answer is truncated', async () => {
    for (let index = 0; index < 10; index += 1) sim.addRecord('example.test', { type: 'TXT', name: 'big', content: `${index}`.repeat(100) });
    const udp = await queryUdp(sim.dnsPort, queryPacket('big.example.test', 'TXT'));
    const tcp = await queryTcp(sim.dnsPort, queryPacket('big.example.test', 'TXT'));
    assert.equal(udp.flag_tc, true);
    assert.deepEqual(udp.answers, []);
    assert.equal(tcp.answers?.length, 10);
  });

  test('deleted record disappears', async () => {
    const created = await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'gone', content: 'bye', ttl: 1 });
    await cf.dns.records.delete(created.id, { zone_id: zone.id });
    const code = await resolveError(resolver.resolveTxt('gone.example.test'));
    assert.equal(code, 'ENOTFOUND');
  });

  test('SOA serial grows on change', async () => {
    const before = await resolver.resolveSoa('example.test');
    await cf.dns.records.create({ zone_id: zone.id, type: 'TXT', name: 'serial', content: 'x', ttl: 1 });
    const after = await resolver.resolveSoa('example.test');
    assert.ok(after.serial > before.serial);
  });

  test('propagation delay hides changes', async () => {
    sim.addZone('slow.test');
    sim.setPropagationDelay('slow.test', 300);
    sim.addRecord('slow.test', { type: 'TXT', name: 'late', content: 'later' });
    const early = await resolveError(resolver.resolveTxt('late.slow.test'));
    await new Promise((resolve) => setTimeout(resolve, 350));
    const later = await resolver.resolveTxt('late.slow.test');
    assert.equal(early, 'ENOTFOUND');
    assert.deepEqual(later, [['later']]);
  });

  test('DNS faults', async () => {
    sim.setDnsFault('www.example.test', 'servfail');
    const servfail = await resolveError(resolver.resolve4('www.example.test'));
    sim.setDnsFault('www.example.test', 'timeout');
    const timeout = await queryUdp(sim.dnsPort, queryPacket('www.example.test', 'A'), 200).then(
      () => 'answered',
      () => 'timed out',
    );
    sim.setDnsFault('www.example.test', null);
    const restored = await resolver.resolve4('www.example.test');
    assert.equal(servfail, 'ESERVFAIL');
    assert.equal(timeout, 'timed out');
    assert.deepEqual(restored, ['192.0.2.10']);
  });
});
