import { access, readFile } from 'node:fs/promises';
import type { RemoteAccess } from '../api/access-control.js';
import type { DaemonConfig } from '../config.js';
import { AppError } from '../errors.js';
import { AccessCache } from './access-cache.js';
import { CorsPolicy } from './cors.js';
import { CsrfVerifier } from './csrf.js';
import { PvePermissionClient } from './pve-permissions.js';

/**
 * pveproxy's certificate files: it prefers the custom or ACME `pveproxy-ssl.pem` and `.key` when
 * both exist, else the node certificate `pve-ssl.*` signed by the cluster CA. Serving the same
 * certificate as the web UI spares the browser a second certificate warning.
 * NOTE: a certificate renewed on disk is picked up at the next daemon start only.
 */
const customCertificate = { certFile: '/etc/pve/local/pveproxy-ssl.pem', keyFile: '/etc/pve/local/pveproxy-ssl.key' };
const nodeCertificate = { certFile: '/etc/pve/local/pve-ssl.pem', keyFile: '/etc/pve/local/pve-ssl.key' };

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads the certificate and key of the HTTPS listener from the configuration or pveproxy's files. */
export async function loadListenerCertificate(config: DaemonConfig): Promise<{ cert: Buffer; key: Buffer }> {
  let files = { certFile: config.api.tlsCertFile, keyFile: config.api.tlsKeyFile };
  if (files.certFile === null || files.keyFile === null) {
    files = (await exists(customCertificate.certFile)) && (await exists(customCertificate.keyFile)) ? customCertificate : nodeCertificate;
  }
  const { certFile, keyFile } = files as { certFile: string; keyFile: string };
  try {
    return { cert: await readFile(certFile), key: await readFile(keyFile) };
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Unable to read the API's TLS certificate ${certFile} or key ${keyFile}: ${(err as Error).message}; set api.tlsCertFile and api.tlsKeyFile, or set api.listen to null`, { cause: err, retryable: false });
  }
}

/** Builds the authentication of TCP requests: CORS policy, CSRF verifier and the cached privilege lookups at pveproxy. */
export async function createRemoteAccess(config: DaemonConfig): Promise<RemoteAccess> {
  let cors: CorsPolicy;
  try {
    cors = new CorsPolicy(config.api.corsOrigins);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Invalid configuration: api.corsOrigins: ${(err as Error).message}`, { cause: err, retryable: false });
  }
  let csrf: CsrfVerifier;
  try {
    csrf = await CsrfVerifier.fromFile(config.api.csrfKeyFile);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', (err as Error).message, { cause: err, retryable: false });
  }
  const client = new PvePermissionClient({ url: config.pve.url, caFile: config.api.pveCaFile });
  return { cors, csrf, permissions: new AccessCache(client, { ttlMs: config.api.permissionsCacheMs }) };
}
