import { AppError } from '../errors.js';
import type { UdpForward } from '../forward/nft-ruleset.js';
import type { StreamService } from '../proxy/stream-services.js';
import type { StoredService } from '../store/model.js';
import type { ResolvedTargets } from './guest-targets.js';

/**
 * The route step of tcp and udp services: tcp goes to the proxy as a stream service, udp to the
 * nftables forwarder. Both are optional dependencies of the reconciler. A service whose kind has
 * no forwarder on this node fails its route step with a message that names the missing forwarder.
 *
 * TODO: the guest-config step adds a TCP rule from the ingress addresses. A udp service needs a
 * UDP rule from any source instead, because DNAT keeps the client's address; until then a guest
 * whose PVE firewall is on must accept the port by hand.
 */

export interface StreamForwarding {
  tcp?: {
    setStreamService(service: StreamService, signal?: AbortSignal): Promise<void>;
    removeStreamService(name: string, signal?: AbortSignal): Promise<void>;
  };
  udp?: {
    setForward(forward: UdpForward, signal?: AbortSignal): Promise<void>;
    removeForward(name: string, signal?: AbortSignal): Promise<void>;
    /** Messages for node settings that stop forwarding from working; empty when all are met. */
    checkNode(signal?: AbortSignal): Promise<string[]>;
  };
}

/** Returns whether `service` is a tcp or udp service rather than an HTTP route. */
export function isStreamService(service: StoredService): boolean {
  return service.protocol === 'tcp' || service.protocol === 'udp';
}

/** Returns whether the service needs a certificate: HTTP services and tcp services that terminate TLS do. */
export function needsCertificate(service: StoredService): boolean {
  return !isStreamService(service) || (service.protocol === 'tcp' && service.tls === true);
}

function missingForwarder(service: StoredService): AppError {
  return new AppError('CONFIG_INVALID', `${service.fqdn} is a ${service.protocol ?? 'http'} service, but this daemon runs no ${service.protocol ?? 'http'} forwarder; check the daemon's log at start`, { retryable: false });
}

/**
 * Applies the route of a tcp or udp service and returns the route condition's message. `certificateId`
 * names the certificate of a TLS-terminated tcp service. Throws when the node cannot forward.
 */
export async function applyStreamRoute(forwarding: StreamForwarding, service: StoredService, resolved: ResolvedTargets, certificateId: string | null, signal?: AbortSignal): Promise<string> {
  const externalPort = service.externalPort;
  if (externalPort === undefined) throw new AppError('CONFIG_INVALID', `${service.fqdn} is a ${service.protocol ?? 'http'} service without an external port; set external-port`, { retryable: false });
  const where = resolved.routeTargets.map((target) => `${target.address}:${target.port}`).join(', ') || 'no target';

  if (service.protocol === 'tcp') {
    if (forwarding.tcp === undefined) throw missingForwarder(service);
    await forwarding.tcp.setStreamService(
      { name: service.fqdn, externalPort, targets: resolved.routeTargets, tlsCertificate: service.tls === true ? certificateId : null, maintenance: resolved.maintenance },
      signal,
    );
    const tls = service.tls === true ? ' with TLS terminated at the ingress' : '';
    return resolved.maintenance ? `tcp port ${externalPort} refuses connections: no running guest (${where})` : `tcp port ${externalPort}${tls} is forwarded to ${where}`;
  }

  if (forwarding.udp === undefined) throw missingForwarder(service);
  // NOTE: nftables DNAT sends every datagram of a flow to one address, so only the first target
  // is used; further targets are not balanced.
  const target = resolved.routeTargets[0];
  if (target === undefined || resolved.maintenance) {
    await forwarding.udp.removeForward(service.fqdn, signal);
    return `udp port ${externalPort} is not forwarded: no running guest (${where})`;
  }
  await forwarding.udp.setForward({ name: service.fqdn, externalPort, target }, signal);
  const problems = await forwarding.udp.checkNode(signal);
  if (problems.length > 0) throw new AppError('PROXY_FAILED', problems.join('; '));
  return `udp port ${externalPort} is forwarded to ${target.address}:${target.port}`;
}

/** Removes the tcp and udp forwarding of `fqdn` on this node; removing what does not exist succeeds. */
export async function removeStreamRoute(forwarding: StreamForwarding, fqdn: string, signal?: AbortSignal): Promise<void> {
  await forwarding.tcp?.removeStreamService(fqdn, signal);
  await forwarding.udp?.removeForward(fqdn, signal);
}
