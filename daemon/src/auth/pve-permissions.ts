import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../errors.js';
import type { Credential } from './credentials.js';
import { unauthorized } from './errors.js';

/**
 * The result of `GET /access/permissions`: ACL path → privilege name → propagate flag (0 or 1).
 * The presence of a privilege means it is granted; the flag is not a grant (pve-access-control
 * `RPCEnvironment.pm` `permissions`).
 */
export type PermissionTree = Record<string, Record<string, number>>;

/** Source of a caller's privileges. */
export interface PermissionSource {
  /**
   * Returns the caller's effective privileges on every path PVE evaluates, or on `path` alone.
   * Throws a 401 AccessError when PVE rejects the credential.
   */
  fetchPermissions(credential: Credential, path?: string): Promise<PermissionTree>;
}

export interface PvePermissionClientOptions {
  /** Base URL of pveproxy, without /api2/json. */
  url: string;
  /** CA that signs pveproxy's certificate (the cluster CA); null trusts the system CAs. Used for https only. */
  caFile: string | null;
  timeoutMs?: number;
}

function isPermissionTree(value: unknown): value is PermissionTree {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((entry) => typeof entry === 'object' && entry !== null && !Array.isArray(entry));
}

/**
 * Asks the local pveproxy for the caller's privileges with the caller's own credential, so pveproxy
 * checks the ticket's signature and age, the token's secret and whether the user is enabled. The
 * credential is sent in the request only; this class keeps no copy of it.
 */
export class PvePermissionClient implements PermissionSource {
  readonly #base: URL;
  readonly #ca: Buffer | undefined;
  readonly #timeoutMs: number;

  constructor(options: PvePermissionClientOptions) {
    this.#base = new URL(options.url);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (this.#base.protocol === 'https:' && options.caFile !== null) {
      try {
        this.#ca = readFileSync(options.caFile);
      } catch (err) {
        throw new AppError('CONFIG_INVALID', `Unable to read the PVE CA file ${options.caFile}: ${(err as Error).message}; set api.pveCaFile to the cluster CA (/etc/pve/pve-root-ca.pem) or to null`, { cause: err });
      }
    }
  }

  async fetchPermissions(credential: Credential, path?: string): Promise<PermissionTree> {
    const url = new URL(`${this.#base.pathname.replace(/\/$/, '')}/api2/json/access/permissions`, this.#base);
    if (path !== undefined) url.searchParams.set('path', path);
    const headers: Record<string, string> =
      credential.kind === 'ticket'
        ? { Cookie: `PVEAuthCookie=${encodeURIComponent(credential.ticket)}` }
        : { Authorization: `PVEAPIToken=${credential.tokenId}=${credential.secret}` };

    const response = await this.#get(url, headers);
    if (response.status === 401) throw unauthorized('Authentication failed!');
    if (response.status !== 200) {
      throw new AppError('PVE_API_FAILED', `Unable to read the caller's privileges from ${this.#base.origin}: HTTP ${response.status}; check that pveproxy runs on this node`);
    }
    let data: unknown;
    try {
      data = (JSON.parse(response.body) as { data?: unknown }).data;
    } catch (err) {
      throw new AppError('PVE_API_FAILED', `Unable to parse the privileges returned by ${this.#base.origin}: ${(err as Error).message}`, { cause: err });
    }
    if (!isPermissionTree(data)) throw new AppError('PVE_API_FAILED', `The privileges returned by ${this.#base.origin} are not an object of paths`);
    return data;
  }

  #get(url: URL, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const options: RequestOptions & { ca?: Buffer } = { method: 'GET', headers: { ...headers, Accept: 'application/json' }, timeout: this.#timeoutMs };
    if (this.#ca !== undefined) options.ca = this.#ca;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const onResponse = (response: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      };
      const request = send(url, options, onResponse);
      request.on('timeout', () => request.destroy(new Error(`timed out after ${this.#timeoutMs} ms`)));
      request.on('error', (err) => {
        reject(new AppError('PVE_API_FAILED', `Unable to reach pveproxy at ${this.#base.origin} to check the caller's privileges: ${err.message}; check that pveproxy runs on this node`, { cause: err }));
      });
      request.end();
    });
  }
}
