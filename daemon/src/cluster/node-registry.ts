/**
 * The record each daemon keeps of its node in the shared state: the addresses its proxy connects
 * to guests from, which the guest firewall rules of every service accept.
 */

import type { Logger } from 'pino';
import type { DaemonConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { StateStore } from '../store/state-store.js';

/**
 * Returns the addresses this node's record should hold: `cluster.ingressAddresses` when set, else
 * the addresses `readAddresses` returns (the node's default-route interface).
 */
async function ingressAddressesOf(config: DaemonConfig, readAddresses?: () => Promise<string[]>): Promise<string[]> {
  const configured = config.cluster.ingressAddresses;
  if (configured.length > 0 || readAddresses === undefined) return [...configured];
  return readAddresses();
}

/**
 * Adds or updates this node's record. A failure (for example no quorum at start, or a node
 * network that cannot be read) is logged and not thrown: the daemon still serves, the record
 * keeps its previous addresses, and the next start registers the node.
 */
export async function registerNode(state: StateStore, config: DaemonConfig, logger: Logger, readAddresses?: () => Promise<string[]>): Promise<void> {
  const { nodeName } = config.cluster;
  try {
    const ingressAddresses = await ingressAddressesOf(config, readAddresses);
    await state.update((document) => {
      const nodes = document.clusterNodes ?? [];
      const current = nodes.find((node) => node.name === nodeName);
      if (current !== undefined && current.ingressAddresses.join(',') === ingressAddresses.join(',')) return;
      const record = { name: nodeName, ingressAddresses, registeredAt: new Date().toISOString() };
      document.clusterNodes = [...nodes.filter((node) => node.name !== nodeName), record].sort((a, b) => a.name.localeCompare(b.name));
    });
  } catch (err) {
    logger.warn({ err: errorMessage(err), node: nodeName }, 'unable to register this node in the shared state; guest firewall rules leave out its addresses until it is registered');
  }
}
