import type { Zone } from 'cloudflare/resources/zones/zones';
import { zonePermissionTags, type Principal } from './auth.js';
import { isCaaData, isSrvData, type StoredRecord, type StoredZone } from './store.js';
import type { DnsRecordView } from './types.js';

/** Account and user that own every zone of one simulator instance. */
export interface Owner {
  accountId: string;
  accountName: string;
  userId: string;
}

// Plan objects shaped like the live API's deprecated `plan` field. The Free plan id is Cloudflare's;
// the Pro plan id is made up.
const PLANS: Record<StoredZone['plan'], Zone.Plan> = {
  free: {
    id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
    name: 'Free Website',
    price: 0,
    currency: 'USD',
    frequency: '',
    is_subscribed: false,
    can_subscribe: false,
    legacy_id: 'free',
    legacy_discount: false,
    externally_managed: false,
  },
  pro: {
    id: '00000000000000000000000000000020',
    name: 'Pro Website',
    price: 25,
    currency: 'USD',
    frequency: 'monthly',
    is_subscribed: true,
    can_subscribe: true,
    legacy_id: 'pro',
    legacy_discount: false,
    externally_managed: false,
  },
};

export function toZoneView(zone: StoredZone, owner: Owner, nameServers: string[], principal: Principal): Zone {
  return {
    id: zone.id,
    name: zone.name,
    status: zone.status,
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: [...nameServers],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: zone.createdOn,
    modified_on: zone.modifiedOn,
    activated_on: zone.activatedOn,
    meta: {
      step: 2,
      custom_certificate_quota: zone.plan === 'free' ? 0 : 1,
      page_rule_quota: zone.plan === 'free' ? 3 : 20,
      phishing_detected: false,
    },
    owner: { id: owner.userId, type: 'user', name: 'Sandbox user' },
    account: { id: owner.accountId, name: owner.accountName },
    permissions: zonePermissionTags(principal, zone.name),
    plan: { ...PLANS[zone.plan] },
  };
}

/**
 * Renders a record as the API returns it. The output never contains `zone_id`, `zone_name` or
 * `locked`, which Cloudflare removed from record objects in 2024-2025.
 */
export function toRecordView(record: StoredRecord): DnsRecordView {
  const common = {
    id: record.id,
    name: record.name,
    content: record.content,
    proxiable: record.type === 'A' || record.type === 'AAAA' || record.type === 'CNAME',
    proxied: record.proxied,
    ttl: record.ttl,
    settings: {},
    meta: {},
    comment: record.comment,
    tags: [...record.tags],
    created_on: record.createdOn,
    modified_on: record.modifiedOn,
    ...(record.commentModifiedOn !== undefined ? { comment_modified_on: record.commentModifiedOn } : {}),
    ...(record.tagsModifiedOn !== undefined ? { tags_modified_on: record.tagsModifiedOn } : {}),
  };
  switch (record.type) {
    case 'A':
      return { ...common, type: 'A' };
    case 'AAAA':
      return { ...common, type: 'AAAA' };
    case 'CNAME':
      return { ...common, type: 'CNAME' };
    case 'TXT':
      return { ...common, type: 'TXT' };
    case 'MX':
      return { ...common, type: 'MX', priority: record.priority ?? 0 };
    case 'CAA':
      return { ...common, type: 'CAA', data: { ...(isCaaData(record.data) ? record.data : { flags: 0, tag: 'issue', value: '' }) } };
    case 'SRV':
      return { ...common, type: 'SRV', data: { ...(isSrvData(record.data) ? record.data : { priority: 0, weight: 0, port: 0, target: '.' }) } };
    default:
      throw new Error(`record ${record.id} has type ${record.type}, which the simulator cannot render`);
  }
}
