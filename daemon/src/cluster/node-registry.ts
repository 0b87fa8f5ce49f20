/**
 * The record each daemon keeps of its node in the shared state: the addresses its proxy connects
 * to guests from, which the guest firewall rules of every service accept.
 */

import type { Logger } from 'pino';
import type { DaemonConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { StateStore } from '../store/state-store.js';

/**
 * Adds or updates this node's record. A failure (for example no quorum at start) is logged and
 * not thrown: the daemon still serves, and the next start registers the node.
 */
export async function registerNode(state: StateStore, config: DaemonConfig, logger: Logger): Promise<void> {
  const { nodeName, ingressAddresses } = config.cluster;
  try {
    await state.update((document) => {
      const nodes = document.clusterNodes ?? [];
      const current = nodes.find((node) => node.name === nodeName);
      if (current !== undefined && current.ingressAddresses.join(',') === ingressAddresses.join(',')) return;
      const record = { name: nodeName, ingressAddresses: [...ingressAddresses], registeredAt: new Date().toISOString() };
      document.clusterNodes = [...nodes.filter((node) => node.name !== nodeName), record].sort((a, b) => a.name.localeCompare(b.name));
    });
  } catch (err) {
    logger.warn({ err: errorMessage(err), node: nodeName }, 'unable to register this node in the shared state; guest firewall rules leave out its addresses until it is registered');
  }
}
