import {
  addressOverCname,
  cnameOverAddress,
  identicalRecord,
  quotaExceeded,
  recordNotFound,
} from './errors.js';
import { quotaFor, readRecordFields, type RecordFields } from './record-input.js';
import { newId, type StoredRecord, type StoredZone } from './store.js';

/**
 * Applies record writes to a working copy of a zone's records. Nothing touches the store until
 * the caller commits `records`, which gives batch requests their all-or-nothing behaviour.
 */
export class RecordSet {
  private current: StoredRecord[];

  constructor(
    private readonly zone: StoredZone,
    records: readonly StoredRecord[],
  ) {
    this.current = [...records];
  }

  get records(): readonly StoredRecord[] {
    return this.current;
  }

  find(id: string): StoredRecord {
    const record = this.current.find((candidate) => candidate.id === id);
    if (record === undefined) throw recordNotFound();
    return record;
  }

  create(body: unknown): StoredRecord {
    const fields = readRecordFields(this.zone, body, 'create');
    if (this.current.length >= quotaFor(this.zone)) throw quotaExceeded();
    this.checkConflicts(fields, undefined);
    const now = new Date().toISOString();
    const record: StoredRecord = {
      id: newId(),
      ...fields,
      createdOn: now,
      modifiedOn: now,
      ...(fields.comment !== null ? { commentModifiedOn: now } : {}),
      ...(fields.tags.length > 0 ? { tagsModifiedOn: now } : {}),
    };
    this.current.push(record);
    return record;
  }

  /** PUT when `mode` is `overwrite`, PATCH when it is `edit`. */
  update(id: string, body: unknown, mode: 'overwrite' | 'edit'): StoredRecord {
    const existing = this.find(id);
    const fields = readRecordFields(this.zone, body, mode, existing);
    this.checkConflicts(fields, existing.id);
    const now = new Date().toISOString();
    const commentChanged = fields.comment !== existing.comment;
    const tagsChanged = fields.tags.join('\n') !== existing.tags.join('\n');
    const record: StoredRecord = {
      id: existing.id,
      ...fields,
      createdOn: existing.createdOn,
      modifiedOn: now,
      ...timestampWhenSet('commentModifiedOn', fields.comment !== null, commentChanged ? now : existing.commentModifiedOn),
      ...timestampWhenSet('tagsModifiedOn', fields.tags.length > 0, tagsChanged ? now : existing.tagsModifiedOn),
    };
    this.current = this.current.map((candidate) => (candidate.id === id ? record : candidate));
    return record;
  }

  delete(id: string): StoredRecord {
    const existing = this.find(id);
    this.current = this.current.filter((candidate) => candidate.id !== id);
    return existing;
  }

  /**
   * Enforces Cloudflare's same-name rules: a CNAME may not share its name with A, AAAA or another
   * CNAME (81053), A/AAAA may not share a name with a CNAME (81054), and a record identical in
   * type, name and content to another is rejected (81058).
   */
  private checkConflicts(fields: RecordFields, ownId: string | undefined): void {
    const others = this.current.filter((record) => record.id !== ownId && record.name === fields.name);
    if (fields.type === 'CNAME' && others.some((record) => ['A', 'AAAA', 'CNAME'].includes(record.type))) {
      throw cnameOverAddress();
    }
    if ((fields.type === 'A' || fields.type === 'AAAA') && others.some((record) => record.type === 'CNAME')) {
      throw addressOverCname();
    }
    const identical = others.some(
      (record) =>
        record.type === fields.type && record.content === fields.content && record.priority === fields.priority,
    );
    if (identical) throw identicalRecord();
  }
}

function timestampWhenSet<K extends string>(key: K, isSet: boolean, value: string | undefined): Partial<Record<K, string>> {
  if (!isSet || value === undefined) return {};
  return { [key]: value } as Partial<Record<K, string>>;
}
