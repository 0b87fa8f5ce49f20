import type { RecordDeleteResponse } from 'cloudflare/resources/dns/records';
import type { ZoneGetResponse } from 'cloudflare/resources/dns/usage/zone';
import { isAllowed } from './auth.js';
import type { ApiContext, ApiResult } from './api-context.js';
import { authenticationError, couldNotRoute, validationFailed } from './errors.js';
import { paginate } from './pagination.js';
import { batchLimitFor, isBody, quotaFor } from './record-input.js';
import { selectRecords } from './record-filters.js';
import { RecordSet } from './record-set.js';
import { ID_PATTERN, type StoredZone } from './store.js';
import type { BatchResultView, TokenPermission } from './types.js';
import { toRecordView } from './views.js';
import { resolveZone } from './zones-api.js';

// Limits of GET …/dns_records (Cloudflare API v4 schema `dns-records_per_page`): 1-5,000,000, default 100.
const RECORD_PAGE_LIMITS = { defaultPerPage: 100, minPerPage: 1, maxPerPage: 5_000_000 };

/** Resolves the zone and checks that the credential has `permission` on it. */
function zoneFor(context: ApiContext, zoneId: string, permission: TokenPermission): StoredZone {
  const zone = resolveZone(context, zoneId);
  if (!isAllowed(context.principal, zone.name, permission)) throw authenticationError();
  return zone;
}

function checkRecordId(context: ApiContext, recordId: string): void {
  if (!ID_PATTERN.test(recordId)) throw couldNotRoute(context.fullPath);
}

export function listRecords(context: ApiContext, zoneId: string): ApiResult {
  const zone = zoneFor(context, zoneId, 'dns_records:read');
  const selected = selectRecords(zone.records, context.query);
  const { page, info } = paginate(selected, context.query, RECORD_PAGE_LIMITS);
  return { result: page.map(toRecordView), resultInfo: info };
}

export function getRecord(context: ApiContext, zoneId: string, recordId: string): ApiResult {
  checkRecordId(context, recordId);
  const zone = zoneFor(context, zoneId, 'dns_records:read');
  return { result: toRecordView(new RecordSet(zone, zone.records).find(recordId)) };
}

/** POST …/dns_records. Cloudflare returns 200, not 201. */
export function createRecord(context: ApiContext, zoneId: string): ApiResult {
  const zone = zoneFor(context, zoneId, 'dns_records:edit');
  const set = new RecordSet(zone, zone.records);
  const record = set.create(context.body);
  context.store.commit(zone, set.records);
  return { result: toRecordView(record) };
}

/** PUT (overwrite) or PATCH (edit) …/dns_records/{id}. */
export function updateRecord(context: ApiContext, zoneId: string, recordId: string, mode: 'overwrite' | 'edit'): ApiResult {
  checkRecordId(context, recordId);
  const zone = zoneFor(context, zoneId, 'dns_records:edit');
  const set = new RecordSet(zone, zone.records);
  const record = set.update(recordId, context.body, mode);
  context.store.commit(zone, set.records);
  return { result: toRecordView(record) };
}

export function deleteRecord(context: ApiContext, zoneId: string, recordId: string): ApiResult {
  checkRecordId(context, recordId);
  const zone = zoneFor(context, zoneId, 'dns_records:edit');
  const set = new RecordSet(zone, zone.records);
  const record = set.delete(recordId);
  context.store.commit(zone, set.records);
  const result: RecordDeleteResponse = { id: record.id };
  return { result };
}

export function recordUsage(context: ApiContext, zoneId: string): ApiResult {
  const zone = zoneFor(context, zoneId, 'dns_records:read');
  const result: ZoneGetResponse = { record_quota: quotaFor(zone), record_usage: zone.records.length };
  return { result };
}

function readOperations(body: Record<string, unknown>, key: 'deletes' | 'patches' | 'puts' | 'posts'): unknown[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validationFailed(`${key} must be an array.`);
  return value as unknown[];
}

function readOperationId(operation: unknown, key: string): string {
  const id = isBody(operation) ? operation.id : undefined;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw validationFailed(`every item of ${key} needs the 32-character hex id of a record, got ${JSON.stringify(id)}.`);
  }
  return id;
}

/**
 * POST …/dns_records/batch. Cloudflare runs deletes, then patches, then puts, then posts, inside
 * one transaction: the first failure is returned and nothing is applied.
 */
export function batchRecords(context: ApiContext, zoneId: string): ApiResult {
  const zone = zoneFor(context, zoneId, 'dns_records:edit');
  const body = context.body;
  if (!isBody(body)) throw validationFailed('The batch request body must be a JSON object with deletes, patches, puts or posts.');

  const deletes = readOperations(body, 'deletes');
  const patches = readOperations(body, 'patches');
  const puts = readOperations(body, 'puts');
  const posts = readOperations(body, 'posts');
  const total = [deletes, patches, puts, posts].reduce((sum, list) => sum + (list?.length ?? 0), 0);
  const limit = batchLimitFor(zone);
  if (total > limit) {
    throw validationFailed(`The batch has ${total} operations, more than the ${limit} allowed on this zone's plan.`);
  }

  const set = new RecordSet(zone, zone.records);
  const result: BatchResultView = {};
  if (deletes !== undefined) result.deletes = deletes.map((op) => toRecordView(set.delete(readOperationId(op, 'deletes'))));
  if (patches !== undefined) {
    result.patches = patches.map((op) => toRecordView(set.update(readOperationId(op, 'patches'), op, 'edit')));
  }
  if (puts !== undefined) {
    result.puts = puts.map((op) => toRecordView(set.update(readOperationId(op, 'puts'), op, 'overwrite')));
  }
  if (posts !== undefined) result.posts = posts.map((op) => toRecordView(set.create(op)));

  context.store.commit(zone, set.records);
  return { result };
}
