import { connect } from 'node:tls';

/** Time allowed for one TLS handshake with the ingress. */
const handshakeTimeoutMs = 5_000;

/**
 * Connects to the ingress with SNI `servername` and returns the serial (lower-case hex) of the
 * certificate it presents. Trust is not checked: only the serial is compared.
 */
export function servedSerial(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, servername, rejectUnauthorized: false, timeout: handshakeTimeoutMs }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
      socket.end();
      resolve(serial);
    });
    socket.on('timeout', () => socket.destroy(new Error(`TLS handshake with ${address}:${port} for ${servername} timed out`)));
    socket.on('error', reject);
  });
}
