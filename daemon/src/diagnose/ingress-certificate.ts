import { connect } from 'node:tls';
import { errorMessage } from '../errors.js';
import type { StoredCertificate } from '../store/model.js';
import { skipped, type CheckOutcome } from './types.js';

/** The certificate a TLS server presented. */
export interface PresentedCertificate {
  /** Lower-case hex, as the stored certificates keep it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  names: string[];
}

/**
 * Connects to `address`:`port` with SNI `servername` and returns the certificate presented.
 * Trust is not checked, because the point is to see what is served. acme/served-certificate.ts
 * returns the serial only; the diagnosis needs the validity too.
 */
export function probeCertificate(address: string, port: number, servername: string, timeoutMs: number): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, servername, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      if (peer.serialNumber === undefined) {
        reject(new Error(`the TLS server at ${address}:${port} presented no certificate for ${servername}`));
        return;
      }
      const names = (peer.subjectaltname ?? '')
        .split(', ')
        .filter((entry) => entry.startsWith('DNS:'))
        .map((entry) => entry.slice(4).toLowerCase());
      resolve({ serial: peer.serialNumber.toLowerCase(), notBefore: new Date(peer.valid_from), notAfter: new Date(peer.valid_to), names });
    });
    socket.on('timeout', () => socket.destroy(new Error(`the TLS handshake with ${address}:${port} for ${servername} timed out after ${timeoutMs} ms`)));
    socket.on('error', reject);
  });
}

/** Returns the address to connect to for a listener bound to `address`: loopback for the wildcard addresses. */
export function probeAddress(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}

export interface IngressOutcomes {
  served: CheckOutcome;
  expiry: CheckOutcome;
}

export interface IngressRequest {
  fqdn: string;
  /** Id of the certificate that should serve the name. */
  certificateId: string;
  stored: StoredCertificate | undefined;
  /** The listener as configured, for the messages. */
  listener: { address: string; port: number };
  node: string;
  /** Time left below which the expiry check warns. */
  warnBeforeMs: number;
}

const restartFix =
  'Restart the daemon on this node with "systemctl restart pve-domainsd"; it starts HAProxy with the stored certificate. If the old certificate stays, read "journalctl -u pve-domainsd" for errors of the proxy';

/** Compares what the ingress presented (or why the probe failed) with the stored certificate. */
export function judgeIngress(request: IngressRequest, presented: PresentedCertificate | Error, now = new Date()): IngressOutcomes {
  const { fqdn, stored, listener } = request;
  const where = `${listener.address}:${listener.port}`;
  if (presented instanceof Error) {
    return {
      served: {
        verdict: 'failed',
        message: `Unable to fetch the certificate that the ingress on ${request.node} (${where}) serves for ${fqdn}: ${errorMessage(presented)}`,
        fix: 'Check with "pve-domains status" that HAProxy runs, and read "journalctl -u pve-domainsd" for errors of the proxy',
      },
      expiry: skipped('Skipped because the ingress presented no certificate'),
    };
  }

  let served: CheckOutcome;
  const facts = `serial ${presented.serial}, valid until ${presented.notAfter.toISOString()}, names ${presented.names.join(', ') || 'none'}`;
  if (stored === undefined) {
    served = {
      verdict: 'failed',
      message: `No certificate ${request.certificateId} is stored yet; the ingress on ${request.node} serves another certificate for ${fqdn} (${facts})`,
      fix: 'See the renewal check above and the service\'s conditions ("pve-domains get /services/NAME") for why the certificate is not issued',
    };
  } else if (stored.serial !== presented.serial) {
    served = {
      verdict: 'failed',
      message: `The ingress on ${request.node} (${where}) serves an older or other certificate for ${fqdn} (${facts}) than the stored certificate ${request.certificateId} (serial ${stored.serial}, issued at ${stored.issuedAt})`,
      fix: restartFix,
    };
  } else {
    served = { verdict: 'ok', message: `The ingress on ${request.node} (${where}) serves the stored certificate ${request.certificateId} (serial ${stored.serial}) for ${fqdn}` };
  }

  const left = presented.notAfter.getTime() - now.getTime();
  const days = Math.floor(left / 86_400_000);
  let expiry: CheckOutcome;
  if (left <= 0) {
    expiry = {
      verdict: 'failed',
      message: `The certificate served for ${fqdn} expired at ${presented.notAfter.toISOString()}; browsers refuse the connection`,
      fix: stored !== undefined && stored.serial !== presented.serial ? restartFix : `Read the renewal check above, fix its cause, then order again with: pve-domains create /certificates/${request.certificateId}/renew`,
    };
  } else if (left < request.warnBeforeMs) {
    expiry = {
      verdict: 'warning',
      message: `The certificate served for ${fqdn} expires at ${presented.notAfter.toISOString()}, in ${days} days, and should have been renewed by now`,
      fix: `Read the renewal check above; to order at once run: pve-domains create /certificates/${request.certificateId}/renew`,
    };
  } else {
    expiry = { verdict: 'ok', message: `The certificate served for ${fqdn} is valid until ${presented.notAfter.toISOString()} (${days} days left)` };
  }
  return { served, expiry };
}
