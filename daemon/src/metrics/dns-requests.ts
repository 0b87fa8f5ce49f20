import type { DnsProvider } from '../dns/provider.js';
import { AppError } from '../errors.js';
import type { Counter } from './registry.js';

export interface DnsRequestCounters {
  cloudflareRequests: Counter<'operation' | 'status'>;
  cloudflareErrors: Counter<'operation'>;
}

/** Status label of a failed operation: the error code, or `error` for an error without one. */
function statusOf(err: unknown): string {
  return err instanceof AppError ? err.code : 'error';
}

/**
 * Wraps a DNS provider so that each operation is counted by name and outcome. `onError` receives
 * every failure before it is re-thrown, for example to notify about rejected credentials.
 */
export function instrumentDnsProvider(provider: DnsProvider, counters: DnsRequestCounters, onError?: (err: unknown) => void): DnsProvider {
  const observe = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      counters.cloudflareRequests.inc({ operation, status: 'ok' });
      return result;
    } catch (err) {
      counters.cloudflareRequests.inc({ operation, status: statusOf(err) });
      counters.cloudflareErrors.inc({ operation });
      onError?.(err);
      throw err;
    }
  };
  return {
    findZone: (name, registeredZone, signal) => observe('find-zone', () => provider.findZone(name, registeredZone, signal)),
    listRecords: (zone, filter, signal) => observe('list-records', () => provider.listRecords(zone, filter, signal)),
    createRecord: (zone, record, signal) => observe('create-record', () => provider.createRecord(zone, record, signal)),
    updateRecord: (zone, id, record, signal) => observe('update-record', () => provider.updateRecord(zone, id, record, signal)),
    deleteRecord: (zone, id, signal) => observe('delete-record', () => provider.deleteRecord(zone, id, signal)),
  };
}
