import { splitTokenId } from '../access.js';
import { ApiError, permissionError } from '../errors.js';
import { splitList } from '../parameters.js';
import type { HandlerContext, Route, SimulatorState } from './route.js';

/**
 * Checks a password, or a valid ticket given in place of the password: the UI renews its ticket
 * that way, and a root@pam ticket is accepted for any user (pve-access-control `AccessControl.pm`).
 */
function authenticate(state: SimulatorState, username: string, password: string): boolean {
  if (state.access.checkPassword(username, password)) return true;
  const ticketUser = state.tickets.verifyTicket(password);
  return ticketUser !== undefined && (ticketUser === username || ticketUser === 'root@pam');
}

function createTicket({ params, state }: HandlerContext): unknown {
  const realm = params.realm;
  const username = realm === undefined ? String(params.username) : `${String(params.username)}@${String(realm)}`;
  const password = String(params.password);

  // Every failure gets the same response so that callers cannot probe which user names exist.
  const failure = new ApiError(401, 'authentication failure\n');
  if (!state.access.hasUser(username) || !authenticate(state, username, password)) throw failure;

  const cap = state.access.capabilities(username);
  if (params.path !== undefined && params.privs !== undefined) {
    // Verify mode: succeeds only when the user has every listed privilege on the path.
    const path = String(params.path);
    const granted = splitList(String(params.privs)).every((privilege) => state.access.hasPrivilege(username, path, privilege));
    if (!granted) throw failure;
    return { username, cap };
  }
  return {
    ticket: state.tickets.issueTicket(username),
    CSRFPreventionToken: state.tickets.issueCsrfToken(username),
    username,
    cap,
  };
}

function readPermissions({ params, authid, state }: HandlerContext): unknown {
  const userid = params.userid === undefined ? authid : String(params.userid);
  const owner = splitTokenId(userid)?.userid;
  const isSelf = userid === authid;
  const isOwnedToken = owner !== undefined && owner === authid;
  if (!isSelf && !isOwnedToken && !state.access.hasPrivilege(authid, '/access', 'Sys.Audit')) {
    throw permissionError('/access, Sys.Audit');
  }
  const path = params.path === undefined ? '' : String(params.path);
  if (path !== '') return state.access.permissionsAt(userid, path);
  return state.access.effectivePermissions(userid);
}

export const accessRoutes: readonly Route[] = [
  {
    method: 'POST',
    path: '/access/ticket',
    parameters: {
      username: { type: 'string', maxLength: 64 },
      password: { type: 'string' },
      realm: { type: 'string', optional: true, maxLength: 32, format: 'pve-realm' },
      'new-format': { type: 'boolean', optional: true },
      path: { type: 'string', optional: true, maxLength: 64, requires: 'privs' },
      privs: { type: 'string', optional: true, maxLength: 64, format: 'pve-priv-list', requires: 'path' },
    },
    permissions: { user: 'world' },
    allowToken: false,
    proxyToNode: false,
    handle: createTicket,
  },
  {
    method: 'GET',
    path: '/access/permissions',
    parameters: {
      userid: {
        type: 'string',
        optional: true,
        pattern: '(?^:^(?^:[^\\s:/]+)\\@(?^:[A-Za-z][A-Za-z0-9\\.\\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\\.\\-_]+))?$)',
      },
      path: { type: 'string', optional: true },
    },
    permissions: { user: 'all' },
    allowToken: true,
    proxyToNode: false,
    handle: readPermissions,
  },
];
