import { createHash } from 'node:crypto';
import { authidOf, type Credential } from './credentials.js';
import type { PermissionSource, PermissionTree } from './pve-permissions.js';

/** Privileges of an authenticated caller. */
export interface CallerAccess {
  /** `user@realm`, or `user@realm!name` for an API token. */
  readonly authid: string;
  /** Tells whether the caller has `privilege` on the ACL path `path` (such as `/vms/101`). */
  has(path: string, privilege: string): Promise<boolean>;
}

export interface AccessCacheOptions {
  /** How long a caller's privileges are reused before pveproxy is asked again. */
  ttlMs: number;
  /** Bound of the number of cached callers; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface CacheEntry {
  expiresAt: number;
  tree: Promise<PermissionTree>;
  /** Results of `GET /access/permissions?path=...` for paths missing from the tree. */
  paths: Map<string, Promise<Set<string>>>;
}

/**
 * Resolves credentials to privileges through a PermissionSource and caches the results briefly.
 * The cache key is a SHA-256 digest of the credential, and the entries hold no credential; a
 * credential is used only while the request that carries it runs. Rejected credentials are not
 * cached, so every retry goes to pveproxy (which delays each 401).
 */
export class AccessCache {
  readonly #source: PermissionSource;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, CacheEntry>();

  constructor(source: PermissionSource, options: AccessCacheOptions) {
    this.#source = source;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Returns the caller's access; throws a 401 AccessError when PVE rejects the credential. */
  async resolve(credential: Credential): Promise<CallerAccess> {
    const entry = this.#entryFor(credential);
    const tree = await entry.tree;
    return {
      authid: authidOf(credential),
      has: async (path, privilege) => {
        // PVE leaves paths without privileges out of the tree, so a missing path may carry an ACL
        // that grants nothing (NoAccess). Inheriting from a listed ancestor would then grant too
        // much, so the path is requested by itself.
        const listed = tree[path];
        if (listed !== undefined) return Object.hasOwn(listed, privilege);
        return (await this.#privilegesAt(entry, credential, path)).has(privilege);
      },
    };
  }

  #entryFor(credential: Credential): CacheEntry {
    const key = digestOf(credential);
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.expiresAt > now) return cached;

    const entry: CacheEntry = { expiresAt: now + this.#ttlMs, tree: this.#source.fetchPermissions(credential), paths: new Map() };
    entry.tree.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict(now);
    return entry;
  }

  #privilegesAt(entry: CacheEntry, credential: Credential, path: string): Promise<Set<string>> {
    let privileges = entry.paths.get(path);
    if (privileges === undefined) {
      privileges = this.#source.fetchPermissions(credential, path).then((tree) => new Set(Object.keys(tree[path] ?? {})));
      privileges.catch(() => entry.paths.delete(path));
      entry.paths.set(path, privileges);
    }
    return privileges;
  }

  #evict(now: number): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}

function digestOf(credential: Credential): string {
  const material = credential.kind === 'ticket' ? `ticket\n${credential.ticket}` : `token\n${credential.tokenId}=${credential.secret}`;
  return createHash('sha256').update(material).digest('hex');
}
