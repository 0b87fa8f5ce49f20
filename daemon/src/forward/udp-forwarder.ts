import { isIPv6 } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { Logger } from 'pino';

import { readFileIfExists, removeFileDurably, writeFileAtomic } from '../proxy/atomic-file.js';
import { checkForwardingPrerequisites, type AddressFamily } from './node-check.js';
import { normaliseUdpForward, renderForwardRemoval, renderForwardRuleset, TABLE_FAMILY, TABLE_NAME, type UdpForward } from './nft-ruleset.js';
import type { NftRunner } from './nft-runner.js';

export interface UdpForwarderOptions {
  /** JSON file with the forwards this node applies; the table is rendered from it. */
  stateFile: string;
  runner: NftRunner;
  logger: Logger;
}

/**
 * UDP services through nftables, which HAProxy cannot proxy. The forwarder keeps its list of
 * forwards in `stateFile`. After every change it replaces the whole `inet pve_domains` table in
 * one `nft -f` transaction, and it deletes the table with the last forward.
 *
 * The table outlives the daemon: stopping the daemon leaves forwarding in place, and restore()
 * applies the file again after a reboot. Removing the package deletes the table.
 */
export class UdpForwarder {
  private readonly options: UdpForwarderOptions;
  private readonly logger: Logger;
  private forwards: UdpForward[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: UdpForwarderOptions) {
    this.options = options;
    this.logger = options.logger.child({ subsystem: 'udp-forward' });
  }

  /** Adds or replaces the forward of `forward.name`. Throws when another service uses the external port. */
  async setForward(forward: UdpForward, signal?: AbortSignal): Promise<void> {
    const record = normaliseUdpForward(forward);
    await this.serialize(async () => {
      const current = await this.current();
      const holder = current.find((item) => item.externalPort === record.externalPort && item.name !== record.name);
      if (holder !== undefined) {
        throw new Error(`external UDP port ${record.externalPort} is already forwarded for ${holder.name}; choose another external port for ${record.name}`);
      }
      const next = [...current.filter((item) => item.name !== record.name), record];
      await this.commit(next, { change: 'set udp forward', service: record.name, external_port: record.externalPort, target: `${record.target.address}:${record.target.port}` }, signal);
    });
  }

  /** Removes the forward of `name`; removing one that does not exist succeeds. */
  async removeForward(name: string, signal?: AbortSignal): Promise<void> {
    await this.serialize(async () => {
      const current = await this.current();
      if (!current.some((item) => item.name === name)) return;
      await this.commit(current.filter((item) => item.name !== name), { change: 'remove udp forward', service: name }, signal);
    });
  }

  /** Returns the forwards in the state file, by external port. */
  async list(): Promise<UdpForward[]> {
    return [...(await this.current())].sort((first, second) => first.externalPort - second.externalPort);
  }

  /** Applies the stored forwards again, for a start after a reboot cleared the kernel's tables. */
  async restore(signal?: AbortSignal): Promise<void> {
    await this.serialize(async () => {
      const current = await this.current();
      if (current.length === 0) return;
      await this.options.runner.apply(renderForwardRuleset(current), signal);
      this.logger.info({ forwards: current.length, table: `${TABLE_FAMILY} ${TABLE_NAME}` }, 'udp forwards restored');
    });
  }

  /** Messages for node settings that stop the stored forwards from working (see node-check.ts). */
  async checkNode(signal?: AbortSignal): Promise<string[]> {
    const families = (await this.current()).map((item): AddressFamily => (isIPv6(item.target.address) ? 'ipv6' : 'ipv4'));
    return checkForwardingPrerequisites(this.options.runner, families, signal);
  }

  private async commit(next: UdpForward[], fields: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    const ruleset = next.length === 0 ? renderForwardRemoval() : renderForwardRuleset(next);
    try {
      await this.options.runner.apply(ruleset, signal);
    } catch (err) {
      this.logger.error({ ...fields, err }, 'udp forward change rejected; table unchanged');
      throw err;
    }
    if (next.length === 0) await removeFileDurably(this.options.stateFile);
    else await writeStateFile(this.options.stateFile, next);
    this.forwards = next;
    this.logger.info({ ...fields, forwards: next.length, table_removed: next.length === 0 }, 'udp forward change applied');
  }

  private async current(): Promise<UdpForward[]> {
    this.forwards ??= await readStateFile(this.options.stateFile, this.logger);
    return this.forwards;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

async function writeStateFile(path: string, forwards: readonly UdpForward[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const sorted = [...forwards].sort((first, second) => first.externalPort - second.externalPort);
  await writeFileAtomic(path, `${JSON.stringify({ version: 1, forwards: sorted }, null, 1)}\n`, 0o600);
}

/** Reads the state file; a missing file means no forwards, and invalid entries are logged and skipped. */
async function readStateFile(path: string, logger: Logger): Promise<UdpForward[]> {
  const text = await readFileIfExists(path);
  if (text === undefined) return [];
  let document: { version?: unknown; forwards?: unknown };
  try {
    document = JSON.parse(text) as { version?: unknown; forwards?: unknown };
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}; restore it or remove it to start without UDP forwards`, { cause: err });
  }
  if (document.version !== 1 || !Array.isArray(document.forwards)) throw new Error(`cannot read ${path}: expected version 1 with a forwards list; restore it or remove it`);
  const forwards: UdpForward[] = [];
  for (const entry of document.forwards as UdpForward[]) {
    try {
      const forward = normaliseUdpForward(entry);
      if (forwards.some((item) => item.name === forward.name || item.externalPort === forward.externalPort)) throw new Error('duplicate');
      forwards.push(forward);
    } catch (err) {
      logger.warn({ file: path, entry, err }, 'invalid udp forward skipped');
    }
  }
  return forwards;
}
