import { randomUUID } from 'node:crypto';

import type { ApiTokenOptions, PrivilegeMap } from './types.js';

/** Every privilege of PVE 9 (pve-access-control `AccessControl.pm`, `$privgroups` plus Permissions.Modify). */
export const PVE_PRIVILEGES: readonly string[] = [
  'VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
  'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.GuestAgent.Unrestricted', 'VM.Migrate',
  'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Config.CDROM', 'VM.Config.Cloudinit',
  'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt',
  'VM.GuestAgent.FileWrite', 'VM.PowerMgmt', 'VM.Audit', 'VM.GuestAgent.Audit',
  'Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork', 'Sys.Console', 'Sys.Syslog',
  'Sys.Audit',
  'Datastore.Allocate', 'Datastore.AllocateTemplate', 'Datastore.AllocateSpace', 'Datastore.Audit',
  'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
  'Realm.Allocate', 'User.Modify', 'Group.Allocate', 'Realm.AllocateUser',
  'Pool.Allocate', 'Pool.Audit',
  'Mapping.Modify', 'Mapping.Use', 'Mapping.Audit',
  'Permissions.Modify',
];

const USERID_RE = /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const TOKEN_NAME_RE = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Paths that `/access/permissions` always evaluates besides the ACL paths (RPCEnvironment.pm). */
const EFFECTIVE_PERMISSION_PATHS = ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

/** Paths and privilege prefixes behind the `cap` object of `POST /access/ticket` (`compute_api_permission`). */
const CAP_PATHS = ['/', '/nodes', '/access/groups', '/vms', '/storage', '/sdn', '/mapping'];
const CAP_PRIVILEGE_PATTERNS: Record<string, RegExp> = {
  vms: /^(VM\.|Permissions\.Modify)/,
  access: /^((User|Group)\.|Permissions\.Modify)/,
  storage: /^(Datastore\.|Permissions\.Modify)/,
  nodes: /^(Sys\.|Permissions\.Modify)/,
  sdn: /^(SDN\.|Permissions\.Modify)/,
  dc: /^(Sys\.Audit|Sys\.Modify|SDN\.)/,
  mapping: /^(Mapping\.|Permissions\.Modify)/,
};

interface TokenRecord {
  secret: string;
  privsep: boolean;
  acl: Map<string, Set<string>>;
}

interface UserRecord {
  password: string;
  acl: Map<string, Set<string>>;
  tokens: Map<string, TokenRecord>;
}

/** A privilege set per path; the value 1 is PVE's propagate flag, and presence means granted. */
export type PermissionTree = Record<string, Record<string, 1>>;

/** Users, API tokens and ACLs of the simulated cluster, with PVE's privilege resolution. */
export class AccessStore {
  readonly #users = new Map<string, UserRecord>();

  addUser(userid: string, password: string, privileges: PrivilegeMap): void {
    if (!USERID_RE.test(userid)) {
      throw new Error(`invalid user id '${userid}': expected 'name@realm', such as 'admin@pve'`);
    }
    const previous = this.#users.get(userid);
    this.#users.set(userid, {
      password,
      acl: buildAcl(privileges),
      tokens: previous?.tokens ?? new Map<string, TokenRecord>(),
    });
  }

  addApiToken(userid: string, tokenName: string, secret: string, options: ApiTokenOptions = {}): string {
    if (!TOKEN_NAME_RE.test(tokenName)) {
      throw new Error(`invalid token name '${tokenName}': expected a letter followed by letters, digits, '.', '-' or '_'`);
    }
    if (!UUID_RE.test(secret)) {
      throw new Error(`invalid secret for token '${userid}!${tokenName}': expected a lowercase UUID`);
    }
    if (!this.#users.has(userid)) this.addUser(userid, randomUUID(), options.privileges ?? {});
    const user = this.#users.get(userid);
    if (user === undefined) throw new Error(`cannot add token '${tokenName}': user '${userid}' was not created`);
    user.tokens.set(tokenName, {
      secret,
      privsep: options.privsep ?? true,
      acl: buildAcl(options.privileges ?? {}),
    });
    return `${userid}!${tokenName}`;
  }

  hasUser(userid: string): boolean {
    return this.#users.has(userid);
  }

  checkPassword(userid: string, password: string): boolean {
    const user = this.#users.get(userid);
    return user !== undefined && user.password === password;
  }

  /** Returns the full token id when `tokenId` exists and `secret` matches, else undefined. */
  verifyToken(tokenId: string, secret: string): string | undefined {
    const parsed = splitTokenId(tokenId);
    if (parsed === undefined) return undefined;
    const token = this.#users.get(parsed.userid)?.tokens.get(parsed.tokenName);
    if (token === undefined || token.secret !== secret) return undefined;
    return tokenId;
  }

  /** Privileges of a user or token id on `path`, resolved as RPCEnvironment.pm `permissions` does. */
  permissions(authid: string, path: string): Set<string> {
    if (authid === 'root@pam') return new Set(PVE_PRIVILEGES);
    const token = splitTokenId(authid);
    if (token !== undefined) {
      const user = this.#users.get(token.userid);
      const record = user?.tokens.get(token.tokenName);
      if (user === undefined || record === undefined) return new Set();
      const userPrivileges = this.permissions(token.userid, path);
      if (!record.privsep) return userPrivileges;
      const tokenPrivileges = resolveAcl(record.acl, path);
      return new Set([...tokenPrivileges].filter((privilege) => userPrivileges.has(privilege)));
    }
    const user = this.#users.get(authid);
    if (user === undefined) return new Set();
    return resolveAcl(user.acl, path);
  }

  hasPrivilege(authid: string, path: string, privilege: string): boolean {
    return this.permissions(authid, path).has(privilege);
  }

  /** Returns the `GET /access/permissions` result without `path`: every evaluated path where the id has a privilege. */
  effectivePermissions(authid: string): PermissionTree {
    const paths = new Set([...EFFECTIVE_PERMISSION_PATHS, ...this.#aclPaths()]);
    const tree: PermissionTree = {};
    for (const path of [...paths].sort()) {
      const privileges = this.permissions(authid, path);
      if (privileges.size > 0) tree[path] = toFlags(privileges);
    }
    return tree;
  }

  /** Returns the `GET /access/permissions?path=...` result, which keeps the path even when nothing is granted. */
  permissionsAt(authid: string, path: string): PermissionTree {
    return { [path]: toFlags(this.permissions(authid, path)) };
  }

  /** Computes the coarse `cap` object returned with a ticket: a union of privileges per UI area. */
  capabilities(userid: string): Record<string, Record<string, 1>> {
    const cap: Record<string, Record<string, 1>> = {};
    for (const area of Object.keys(CAP_PRIVILEGE_PATTERNS)) cap[area] = {};
    const paths = new Set([...CAP_PATHS, ...this.#aclPaths()]);
    for (const path of paths) {
      const topLevel = /^\/(\w+)/.exec(path)?.[1] ?? 'dc';
      const pattern = CAP_PRIVILEGE_PATTERNS[topLevel];
      const area = cap[topLevel];
      if (pattern === undefined || area === undefined) continue;
      for (const privilege of this.permissions(userid, path)) {
        if (pattern.test(privilege)) area[privilege] = 1;
      }
    }
    return cap;
  }

  /** Every path named in any user's or token's ACL, as PVE walks the whole ACL tree. */
  #aclPaths(): string[] {
    const paths = new Set<string>();
    for (const user of this.#users.values()) {
      for (const path of user.acl.keys()) paths.add(path);
      for (const token of user.tokens.values()) {
        for (const path of token.acl.keys()) paths.add(path);
      }
    }
    return [...paths];
  }
}

/** Splits 'user@realm!name' into its parts; returns undefined for a plain user id. */
export function splitTokenId(authid: string): { userid: string; tokenName: string } | undefined {
  const separator = authid.lastIndexOf('!');
  if (separator < 0) return undefined;
  return { userid: authid.slice(0, separator), tokenName: authid.slice(separator + 1) };
}

export function normalizeAclPath(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/\/$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function buildAcl(privileges: PrivilegeMap): Map<string, Set<string>> {
  const acl = new Map<string, Set<string>>();
  for (const [path, names] of Object.entries(privileges)) {
    if (!path.startsWith('/')) {
      throw new Error(`invalid ACL path '${path}': paths start with '/', such as '/vms/101'`);
    }
    for (const name of names) {
      if (!PVE_PRIVILEGES.includes(name)) {
        throw new Error(`unknown privilege '${name}' on '${path}': use a PVE 9 privilege name such as 'VM.Audit'`);
      }
    }
    acl.set(normalizeAclPath(path), new Set(names));
  }
  return acl;
}

/** Resolves privileges from the ACL entry on the longest prefix of `path`, because a more specific ACL replaces an inherited one. */
function resolveAcl(acl: Map<string, Set<string>>, path: string): Set<string> {
  let current = normalizeAclPath(path);
  for (;;) {
    const entry = acl.get(current);
    if (entry !== undefined) return new Set(entry);
    if (current === '/') return new Set();
    const parent = current.slice(0, current.lastIndexOf('/'));
    current = parent === '' ? '/' : parent;
  }
}

function toFlags(privileges: Set<string>): Record<string, 1> {
  const flags: Record<string, 1> = {};
  for (const privilege of [...privileges].sort()) flags[privilege] = 1;
  return flags;
}
