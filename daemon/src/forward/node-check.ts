import type { NftRunner } from './nft-runner.js';

/**
 * Checks what the node needs for UDP forwarding and reports it instead of changing it. A DNATed
 * datagram is routed to the guest, which the kernel does only with IP forwarding on. The daemon
 * never sets these sysctls itself, because forwarding changes how the whole node treats traffic.
 */

const SYSCTLS = {
  ipv4: { key: 'net/ipv4/ip_forward', name: 'net.ipv4.ip_forward' },
  ipv6: { key: 'net/ipv6/conf/all/forwarding', name: 'net.ipv6.conf.all.forwarding' },
} as const;

export type AddressFamily = keyof typeof SYSCTLS;

/** Returns one message per missing prerequisite for the given target families; empty when all are met. */
export async function checkForwardingPrerequisites(runner: NftRunner, families: readonly AddressFamily[], signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  for (const family of new Set(families)) {
    const { key, name } = SYSCTLS[family];
    const value = await runner.readSysctl(key, signal);
    if (value !== '1') {
      problems.push(
        `${name} is ${value} on this node, so the kernel drops the UDP datagrams forwarded to ${family} guests; ` +
          `enable it with "sysctl -w ${name}=1" and keep it with a line "${name} = 1" in /etc/sysctl.d/`,
      );
    }
  }
  return problems;
}
