import { readFileSync } from 'node:fs';
import proxmoxApi from 'proxmox-api';

export type PveApi = ReturnType<typeof proxmoxApi>;

/** Where and as whom the daemon calls the PVE API. */
export interface PveApiSettings {
  /** Base URL of the PVE API, e.g. https://127.0.0.1:8006 */
  url: string;
  /** API token id, `user@realm!name`. */
  tokenId: string;
  /** File holding the token secret, read once here. */
  tokenSecretFile: string;
  /** Time after which one request is abandoned; 15 s when absent. */
  timeoutMs?: number;
}

/**
 * Builds a `proxmox-api` client that authenticates with the daemon's API token. TLS trust for
 * pveproxy's certificate comes from the process's CA store (the packaged unit adds
 * /etc/pve/pve-root-ca.pem with NODE_EXTRA_CA_CERTS).
 */
export function createPveApi(settings: PveApiSettings): PveApi {
  const url = new URL(settings.url);
  const schema = url.protocol === 'http:' ? 'http' : 'https';
  const defaultPort = schema === 'https' ? 443 : 80;
  return proxmoxApi({
    host: url.hostname,
    port: url.port === '' ? defaultPort : Number(url.port),
    schema,
    tokenID: settings.tokenId,
    tokenSecret: readFileSync(settings.tokenSecretFile, 'utf8').trim(),
    queryTimeout: settings.timeoutMs ?? 15_000,
  });
}
