import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import { NftRunner } from '../../daemon/src/forward/nft-runner.js';
import { UdpForwarder } from '../../daemon/src/forward/udp-forwarder.js';
import { startProcess, type SandboxProcess } from '../sandbox/processes.js';

/**
 * UDP forwarding end to end in three network namespaces that this test creates and removes:
 * client -- node -- guest. The forwarder runs nft inside the node namespace only; the host's own
 * namespace and tables are never touched.
 */

const IP = '/usr/sbin/ip';
const NFT = '/usr/sbin/nft';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (!existsSync(NFT)) return `needs nftables (${NFT} is missing)`;
  if (!existsSync(IP)) return `needs iproute2 (${IP} is missing)`;
  return undefined;
}

const skip = skipReason();
const suffix = randomBytes(3).toString('hex');
const namespaces = { client: `pvedom-test-${suffix}-c`, node: `pvedom-test-${suffix}-n`, guest: `pvedom-test-${suffix}-g` };
const created: string[] = [];

const NODE_ADDRESS = '10.77.1.1';
const CLIENT_ADDRESS = '10.77.1.2';
const GUEST_GATEWAY = '10.77.2.1';
const GUEST_ADDRESS = '10.77.2.2';
const GUEST_PORT = 27015;
const EXTERNAL_PORT = 28015;

/** Runs `ip` (or another command) synchronously and throws with its output when it fails. */
function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error?.message || `exit ${String(result.status)}`}`);
  return result.stdout;
}

function inNamespace(namespace: string, args: string[]): string {
  return run(IP, ['netns', 'exec', namespace, ...args]);
}

function createTopology(): void {
  for (const namespace of Object.values(namespaces)) {
    run(IP, ['netns', 'add', namespace]);
    created.push(namespace);
    run(IP, ['-n', namespace, 'link', 'set', 'lo', 'up']);
  }
  // Each veth pair is created inside a test namespace with its peer in another one.
  run(IP, ['-n', namespaces.client, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'n0', 'netns', namespaces.node]);
  run(IP, ['-n', namespaces.node, 'link', 'add', 'n1', 'type', 'veth', 'peer', 'name', 'g0', 'netns', namespaces.guest]);
  run(IP, ['-n', namespaces.client, 'address', 'add', `${CLIENT_ADDRESS}/24`, 'dev', 'c0']);
  run(IP, ['-n', namespaces.node, 'address', 'add', `${NODE_ADDRESS}/24`, 'dev', 'n0']);
  run(IP, ['-n', namespaces.node, 'address', 'add', `${GUEST_GATEWAY}/24`, 'dev', 'n1']);
  run(IP, ['-n', namespaces.guest, 'address', 'add', `${GUEST_ADDRESS}/24`, 'dev', 'g0']);
  for (const [namespace, device] of [[namespaces.client, 'c0'], [namespaces.node, 'n0'], [namespaces.node, 'n1'], [namespaces.guest, 'g0']] as const) {
    run(IP, ['-n', namespace, 'link', 'set', device, 'up']);
  }
  // The guest replies through the node, as a guest on a routed or NAT bridge of a PVE node does.
  run(IP, ['-n', namespaces.guest, 'route', 'add', 'default', 'via', GUEST_GATEWAY]);
  setNodeForwarding(1);
}

/** Sets IP forwarding of the node namespace; /proc/sys/net is per namespace. */
function setNodeForwarding(value: 0 | 1): void {
  inNamespace(namespaces.node, ['/usr/sbin/sysctl', '-q', '-w', `net.ipv4.ip_forward=${value}`]);
}

const ECHO_SERVER = `
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
socket.on('message', (message, peer) => socket.send('guest:' + message + ':' + peer.address, peer.port, peer.address));
socket.bind(${GUEST_PORT}, '0.0.0.0', () => console.log('ready'));
`;

/** Sends one datagram from the client namespace and returns the reply, or `timeout` after 1.5 s. */
function sendFromClient(message: string, port = EXTERNAL_PORT): Promise<string> {
  const script = `
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
const timer = setTimeout(() => { console.log('timeout'); process.exit(0); }, 1500);
socket.on('message', (answer) => { clearTimeout(timer); console.log(String(answer)); process.exit(0); });
socket.send(${JSON.stringify(message)}, ${port}, ${JSON.stringify(NODE_ADDRESS)});
`;
  return new Promise((resolve, reject) => {
    const child = spawn(IP, ['netns', 'exec', namespaces.client, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', reject);
    child.once('close', () => resolve(Buffer.concat(output).toString('utf8').trim()));
  });
}

let stateDir: string;
let echo: SandboxProcess | undefined;
let runner: NftRunner;
let forwarder: UdpForwarder;
const logger = pino({ level: 'silent' });

async function startEcho(): Promise<SandboxProcess> {
  const process_ = startProcess('udp echo', IP, ['netns', 'exec', namespaces.guest, process.execPath, '-e', ECHO_SERVER], join(stateDir, 'echo.log'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the UDP echo server in the guest namespace did not start within 10 s')), 10_000);
    process_.child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return process_;
}

describe('udp forwarding in namespaces', { skip }, () => {
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'pvedom-udp-'));
    createTopology();
    // A table of another product in the node namespace, which the forwarder must leave alone.
    inNamespace(namespaces.node, [NFT, 'add table inet other_product; add chain inet other_product keep { type filter hook input priority 0; policy accept; }']);
    echo = await startEcho();
    runner = new NftRunner({ netns: namespaces.node });
    forwarder = new UdpForwarder({ stateFile: join(stateDir, 'udp-forwards.json'), runner, logger });
  });

  after(async () => {
    await echo?.stop();
    for (const namespace of created.reverse()) spawnSync(IP, ['netns', 'delete', namespace], { timeout: 10_000 });
    await rm(stateDir, { recursive: true, force: true });
    const left = run(IP, ['netns', 'list']).split('\n').filter((line) => line.includes(`pvedom-test-${suffix}`));
    assert.deepEqual(left, []);
  });

  it('drops datagrams without a forward', async () => {
    assert.equal(await sendFromClient('before'), 'timeout');
  });

  it('forwards to the guest', async () => {
    await forwarder.setForward({ name: 'game.example.com', externalPort: EXTERNAL_PORT, target: { address: GUEST_ADDRESS, port: GUEST_PORT } });
    // The guest sees the client's own address, because the node only rewrites the destination.
    assert.equal(await sendFromClient('hello'), `guest:hello:${CLIENT_ADDRESS}`);
  });

  it('writes the rule into its table', async () => {
    const table = await runner.listTable();
    assert.ok(table !== null);
    assert.match(table, new RegExp(`udp dport ${EXTERNAL_PORT} dnat ip to ${GUEST_ADDRESS.replaceAll('.', '\\.')}:${GUEST_PORT}`));
    assert.match(table, /comment "game\.example\.com"/);
  });

  it('passes the node check', async () => {
    assert.deepEqual(await forwarder.checkNode(), []);
  });

  it('reports forwarding turned off', async () => {
    setNodeForwarding(0);
    try {
      const problems = await forwarder.checkNode();
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /net\.ipv4\.ip_forward is 0/);
      assert.match(problems[0] ?? '', /sysctl -w net\.ipv4\.ip_forward=1/);
      assert.equal(await sendFromClient('blocked'), 'timeout');
    } finally {
      setNodeForwarding(1);
    }
  });

  it('rejects a taken external port', async () => {
    await assert.rejects(
      forwarder.setForward({ name: 'other.example.com', externalPort: EXTERNAL_PORT, target: { address: GUEST_ADDRESS, port: 1 } }),
      /external UDP port 28015 is already forwarded for game\.example\.com/,
    );
  });

  it('moves the forward to another port', async () => {
    await forwarder.setForward({ name: 'game.example.com', externalPort: EXTERNAL_PORT + 1, target: { address: GUEST_ADDRESS, port: GUEST_PORT } });
    assert.equal(await sendFromClient('moved', EXTERNAL_PORT + 1), `guest:moved:${CLIENT_ADDRESS}`);
    assert.equal(await sendFromClient('old port'), 'timeout');
  });

  it('accepts an ipv6 target', async () => {
    await forwarder.setForward({ name: 'voice.example.com', externalPort: 9987, target: { address: 'fd00::7', port: 9987 } });
    const table = await runner.listTable();
    await forwarder.removeForward('voice.example.com');
    assert.match(table ?? '', /udp dport 9987 dnat ip6 to \[fd00::7\]:9987/);
    assert.equal((await forwarder.list()).length, 1);
  });

  it('restores the table from its file', async () => {
    inNamespace(namespaces.node, [NFT, 'delete table inet pve_domains']);
    const restarted = new UdpForwarder({ stateFile: join(stateDir, 'udp-forwards.json'), runner, logger });
    await restarted.restore();
    assert.equal((await restarted.list()).length, 1);
    assert.equal(await sendFromClient('again', EXTERNAL_PORT + 1), `guest:again:${CLIENT_ADDRESS}`);
  });

  it('deletes the table with the last forward', async () => {
    const restarted = new UdpForwarder({ stateFile: join(stateDir, 'udp-forwards.json'), runner, logger });
    await restarted.removeForward('game.example.com');
    assert.equal(await runner.listTable(), null);
    assert.equal(await sendFromClient('gone', EXTERNAL_PORT + 1), 'timeout');
    assert.deepEqual(await restarted.list(), []);
  });

  it('leaves other tables alone', () => {
    const tables = inNamespace(namespaces.node, [NFT, 'list', 'tables']);
    assert.match(tables, /table inet other_product/);
    assert.doesNotMatch(tables, /pve_domains/);
  });
});
