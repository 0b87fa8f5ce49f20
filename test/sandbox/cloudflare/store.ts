import { randomBytes } from 'node:crypto';
import type { ZonePlan, ZoneStatus } from './types.js';

/** CAA record data as the API's `data` field carries it. */
export interface CaaData {
  flags: number;
  tag: string;
  value: string;
}

/** SRV record data as the API's `data` field carries it (RFC 2782 fields). */
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  /** Lower-case host name, or `.` for "no service at this name". */
  target: string;
}

export function isSrvData(data: CaaData | SrvData | undefined): data is SrvData {
  return data !== undefined && 'target' in data;
}

export function isCaaData(data: CaaData | SrvData | undefined): data is CaaData {
  return data !== undefined && 'tag' in data;
}

/** A record as stored; objects are never mutated, so a zone version can share them. */
export interface StoredRecord {
  readonly id: string;
  readonly type: string;
  /** Lower-case Punycode FQDN without the trailing dot. */
  readonly name: string;
  readonly content: string;
  readonly ttl: number;
  readonly proxied: boolean;
  readonly comment: string | null;
  readonly tags: readonly string[];
  readonly priority?: number;
  readonly data?: CaaData | SrvData;
  readonly createdOn: string;
  readonly modifiedOn: string;
  readonly commentModifiedOn?: string;
  readonly tagsModifiedOn?: string;
}

/** One committed state of a zone's records, kept so DNS answers can lag behind the API. */
interface ZoneVersion {
  readonly at: number;
  readonly serial: number;
  readonly records: readonly StoredRecord[];
}

export interface StoredZone {
  readonly id: string;
  readonly name: string;
  status: ZoneStatus;
  readonly plan: ZonePlan;
  readonly createdOn: string;
  modifiedOn: string;
  activatedOn: string | null;
  records: readonly StoredRecord[];
  serial: number;
  propagationDelayMs: number;
  versions: ZoneVersion[];
}

export function newId(): string {
  return randomBytes(16).toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{32}$/;

/** Zones and their records, shared by the HTTP API and the DNS server. */
export class SimulatorStore {
  private readonly zonesById = new Map<string, StoredZone>();

  addZone(name: string, status: ZoneStatus, plan: ZonePlan): StoredZone {
    if (this.findZoneByName(name) !== undefined) {
      throw new Error(`zone ${name} already exists in the Cloudflare simulator; add each zone once`);
    }
    const now = new Date().toISOString();
    const serial = Math.floor(Date.now() / 1000);
    const zone: StoredZone = {
      id: newId(),
      name,
      status,
      plan,
      createdOn: now,
      modifiedOn: now,
      activatedOn: status === 'active' ? now : null,
      records: [],
      serial,
      propagationDelayMs: 0,
      versions: [{ at: Date.now(), serial, records: [] }],
    };
    this.zonesById.set(zone.id, zone);
    return zone;
  }

  zones(): StoredZone[] {
    return [...this.zonesById.values()];
  }

  zoneById(id: string): StoredZone | undefined {
    return this.zonesById.get(id);
  }

  findZoneByName(name: string): StoredZone | undefined {
    const wanted = name.toLowerCase();
    return this.zones().find((zone) => zone.name === wanted);
  }

  zoneByName(name: string): StoredZone {
    const zone = this.findZoneByName(name);
    if (zone === undefined) {
      throw new Error(`zone ${name} is not in the Cloudflare simulator; call addZone first`);
    }
    return zone;
  }

  setStatus(zone: StoredZone, status: ZoneStatus): void {
    zone.status = status;
    zone.modifiedOn = new Date().toISOString();
    if (status === 'active' && zone.activatedOn === null) zone.activatedOn = zone.modifiedOn;
  }

  /** Replaces the zone's records in one step and records the new version for the DNS server. */
  commit(zone: StoredZone, records: readonly StoredRecord[]): void {
    const now = Date.now();
    // The SOA serial must grow with every change, also when two changes share one second.
    zone.serial = Math.max(zone.serial + 1, Math.floor(now / 1000));
    zone.records = records;
    zone.versions.push({ at: now, serial: zone.serial, records });
    this.pruneVersions(zone, now);
  }

  /** Records and SOA serial the DNS server publishes now, honouring the propagation delay. */
  published(zone: StoredZone, now = Date.now()): { serial: number; records: readonly StoredRecord[] } {
    const visibleAt = now - zone.propagationDelayMs;
    let chosen = zone.versions[0];
    for (const version of zone.versions) {
      if (version.at <= visibleAt) chosen = version;
    }
    if (chosen === undefined) return { serial: zone.serial, records: zone.records };
    return { serial: chosen.serial, records: chosen.records };
  }

  setPropagationDelay(zone: StoredZone, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new Error(`propagation delay ${ms} ms for zone ${zone.name} is invalid; pass 0 or more milliseconds`);
    }
    zone.propagationDelayMs = ms;
  }

  /** Drops versions that can no longer be published: all but the newest one older than the delay. */
  private pruneVersions(zone: StoredZone, now: number): void {
    const visibleAt = now - zone.propagationDelayMs;
    let firstNeeded = 0;
    zone.versions.forEach((version, index) => {
      if (version.at <= visibleAt) firstNeeded = index;
    });
    if (firstNeeded > 0) zone.versions = zone.versions.slice(firstNeeded);
  }
}
