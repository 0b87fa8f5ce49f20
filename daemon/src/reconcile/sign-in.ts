import type { RouteOptions } from '../proxy/route-options.js';
import type { Condition, StoredDomain, StoredService } from '../store/model.js';
import { setCondition } from './conditions.js';

/**
 * The sign-in gate of a service joins two objects: the service requires it (`auth`), and its
 * domain names the authentication server. These helpers join them for the ingress and the status.
 */

/** Returns the route options of `service` with the authentication server of its domain filled in. */
export function routeOptionsOf(service: StoredService, domain: StoredDomain | undefined): Partial<RouteOptions> {
  return { ...service.options, authServer: domain?.authServer ?? null };
}

/** Builds the sign-in condition of a service that requires sign-in; null when it does not. */
export function signInCondition(service: StoredService, domain: StoredDomain | undefined): Omit<Condition, 'time'> | null {
  if (service.options?.authRequired !== true) return null;
  const server = domain?.authServer;
  if (server === undefined) {
    return {
      type: 'sign-in',
      status: 'false',
      reason: 'SignInNotConfigured',
      message: `https://${service.fqdn} requires sign-in, but domain ${service.domain} has no auth-server, so it returns 503; set one with pve-domains set /domains/${service.domain} --auth-server URL, or turn auth off`,
    };
  }
  return { type: 'sign-in', status: 'true', reason: 'SignInGate', message: `requests to https://${service.fqdn} sign in through ${server}` };
}

/** Sets the sign-in condition on `conditions`, or removes it when the service does not require sign-in. */
export function applySignInCondition(conditions: Condition[], service: StoredService, domain: StoredDomain | undefined): void {
  const condition = signInCondition(service, domain);
  if (condition !== null) {
    setCondition(conditions, condition);
    return;
  }
  const index = conditions.findIndex((item) => item.type === 'sign-in');
  if (index !== -1) conditions.splice(index, 1);
}
