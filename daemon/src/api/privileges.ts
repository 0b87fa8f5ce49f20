import { normaliseHostname } from '../names.js';

/**
 * The PVE privileges each API route needs, on PVE's ACL paths (pve-access-control, PVE 9):
 *
 * | route | privileges |
 * | --- | --- |
 * | GET /domains…, /sites…, /certificates… | Sys.Audit on / |
 * | POST, PUT, DELETE /domains…, /sites…, /certificates… | Sys.Modify on / |
 * | GET /services | none; the list keeps services whose guest the caller has VM.Audit on |
 * | GET /services/{fqdn}… | VM.Audit on /vms/{vmid of the service} |
 * | POST /services | Sys.Audit on / (to pick a domain), VM.Config.Network on /vms/{vmid} of every guest in the body |
 * | PUT, POST, DELETE /services/{fqdn}… | Sys.Audit on /, VM.Config.Network on every guest of the stored service and of the body |
 * | GET /audit | Sys.Audit on / |
 * | GET /metrics, GET /tasks… | Sys.Audit on / |
 * | GET /diagnose/{name}, GET /status | Sys.Audit on / |
 * | GET / (directory index) | none |
 * | GET /schema (OpenAPI document) | none |
 *
 * A route missing from this table is refused for every caller but root.
 */

/** One privilege on one ACL path. */
export interface PrivilegeRequirement {
  path: string;
  privilege: string;
}

/** Request fields the policy reads; `route` is the route pattern below /api2/json, such as `/services/:fqdn`. */
export interface PolicyRequest {
  method: string;
  route: string;
  params: unknown;
  body: unknown;
}

export interface RoutePolicy {
  /** Checked in this order; the first one missing is named in the 403. */
  requirements: PrivilegeRequirement[];
  /** The response is a list of services, to be cut down to those whose guest the caller has VM.Audit on. */
  filterServicesByGuest: boolean;
  /** Name of the change for the audit log, such as `service.create`; undefined for reads. */
  action: string | undefined;
  /** The domain or service the request names, or ''. */
  object: string;
}

/** Returns the guest ids of a stored service, the first target's first, or undefined when there is no such service. */
export type ServiceGuestLookup = (fqdn: string) => number[] | undefined;

export const sysAudit: PrivilegeRequirement = { path: '/', privilege: 'Sys.Audit' };
export const sysModify: PrivilegeRequirement = { path: '/', privilege: 'Sys.Modify' };

export function guestPath(vmid: number): string {
  return `/vms/${vmid}`;
}

function field(source: unknown, name: string): unknown {
  if (typeof source !== 'object' || source === null) return undefined;
  return (source as Record<string, unknown>)[name];
}

function firstStringParam(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  return Object.values(params).find((value): value is string => typeof value === 'string');
}

function integerField(source: unknown, name: string): number | undefined {
  const value = field(source, name);
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : undefined;
}

/** Guest ids named in a request body: `vmid`, and `vmid` of the objects in any list field (further targets). */
function bodyGuests(body: unknown): number[] {
  const guests: number[] = [];
  const vmid = integerField(body, 'vmid');
  if (vmid !== undefined) guests.push(vmid);
  if (typeof body !== 'object' || body === null) return guests;
  for (const value of Object.values(body)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      const itemVmid = integerField(item, 'vmid');
      if (itemVmid !== undefined) guests.push(itemVmid);
    }
  }
  return guests;
}

function networkOn(vmids: Iterable<number>): PrivilegeRequirement[] {
  return [...new Set(vmids)].map((vmid) => ({ path: guestPath(vmid), privilege: 'VM.Config.Network' }));
}

/** The audit action: the trailing fixed segment of a sub-resource (`/domains/:domain/verify` → verify), else by method. */
function actionOf(kind: string, method: string, rest: string[]): string {
  const last = rest[rest.length - 1];
  if (rest.length >= 2 && last !== undefined && !last.startsWith(':')) return `${kind}.${last}`;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', DELETE: 'delete' };
  return `${kind}.${verbs[method] ?? method.toLowerCase()}`;
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

function settingsPolicy(request: PolicyRequest, kind: string, rest: string[]): RoutePolicy {
  const named = field(request.body, kind) ?? field(request.body, 'name');
  const object = firstStringParam(request.params) ?? (typeof named === 'string' ? named : '');
  if (isRead(request.method)) return { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object };
  return { requirements: [sysModify], filterServicesByGuest: false, action: actionOf(kind, request.method, rest), object };
}

function servicePolicy(request: PolicyRequest, rest: string[], guestOf: ServiceGuestLookup): RoutePolicy {
  const read = isRead(request.method);
  if (rest.length === 0) {
    if (read) return { requirements: [], filterServicesByGuest: true, action: undefined, object: '' };
    const subdomain = field(request.body, 'subdomain');
    const domain = field(request.body, 'domain');
    const object = typeof subdomain === 'string' && typeof domain === 'string' ? `${subdomain}.${domain}` : '';
    const guests = bodyGuests(request.body);
    // Without a guest id in the body, the caller must be allowed to configure every guest.
    const network = guests.length === 0 ? [{ path: '/vms', privilege: 'VM.Config.Network' }] : networkOn(guests);
    return { requirements: [sysAudit, ...network], filterServicesByGuest: false, action: actionOf('service', request.method, rest), object };
  }

  const name = firstStringParam(request.params) ?? '';
  const normalised = normaliseHostname(name);
  const object = normalised.ok ? normalised.name : name;
  // An unknown service gets no guest requirement and the route answers 404: service names are
  // published in public DNS, so telling that one does not exist discloses nothing.
  const stored = (normalised.ok ? guestOf(normalised.name) : undefined) ?? [];
  if (read) {
    // Reading needs VM.Audit on the first target's guest, as the list filter does.
    const requirements = stored[0] === undefined ? [] : [{ path: guestPath(stored[0]), privilege: 'VM.Audit' }];
    return { requirements, filterServicesByGuest: false, action: undefined, object };
  }
  const requirements = [sysAudit, ...networkOn([...stored, ...bodyGuests(request.body)])];
  return { requirements, filterServicesByGuest: false, action: actionOf('service', request.method, rest), object };
}

/** Returns the policy of a request, or undefined when its route is not in the table. */
export function routePolicy(request: PolicyRequest, guestOf: ServiceGuestLookup): RoutePolicy | undefined {
  const [collection, ...rest] = request.route.split('/').filter((segment) => segment !== '');
  switch (collection) {
    case 'domains':
      return settingsPolicy(request, 'domain', rest);
    case 'sites':
      return settingsPolicy(request, 'site', rest);
    case 'certificates':
      return settingsPolicy(request, 'certificate', rest);
    case 'services':
      return servicePolicy(request, rest, guestOf);
    case undefined:
      // The directory index lists collection names only; PVE's own index needs no privilege.
      return isRead(request.method) && rest.length === 0 ? { requirements: [], filterServicesByGuest: false, action: undefined, object: '' } : undefined;
    case 'audit':
      return isRead(request.method) && rest.length === 0 ? { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object: '' } : undefined;
    case 'metrics':
      return isRead(request.method) && rest.length === 0 ? { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object: '' } : undefined;
    case 'tasks':
      // Task logs name domains, certificates and CA errors, which reading domains needs Sys.Audit for too.
      return isRead(request.method) ? { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object: firstStringParam(request.params) ?? '' } : undefined;
    case 'diagnose':
      // A diagnosis writes and deletes one probe TXT record and changes nothing else, so it counts as a read.
      return isRead(request.method) && rest.length === 1 ? { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object: firstStringParam(request.params) ?? '' } : undefined;
    case 'status':
      return isRead(request.method) && rest.length === 0 ? { requirements: [sysAudit], filterServicesByGuest: false, action: undefined, object: '' } : undefined;
    case 'schema':
      // The document names routes, parameters and privileges only, which the package's man page publishes too.
      return isRead(request.method) && rest.length === 0 ? { requirements: [], filterServicesByGuest: false, action: undefined, object: '' } : undefined;
    default:
      return undefined;
  }
}
