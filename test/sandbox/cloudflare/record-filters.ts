import { validationFailed } from './errors.js';
import { combine, compareValues, readDirection, readMatch } from './pagination.js';
import { normalizeHostName } from './record-names.js';
import type { StoredRecord } from './store.js';

type RecordPredicate = (record: StoredRecord) => boolean;
type Comparable = string | number | boolean;

const RECORD_ORDER_KEYS: Record<string, (record: StoredRecord) => Comparable> = {
  type: (record) => record.type,
  name: (record) => record.name,
  content: (record) => record.content,
  ttl: (record) => record.ttl,
  proxied: (record) => record.proxied,
};

type TextOperator = 'exact' | 'contains' | 'startswith' | 'endswith';
const TEXT_OPERATORS: TextOperator[] = ['exact', 'contains', 'startswith', 'endswith'];

function textTest(operator: TextOperator, expected: string, caseSensitive: boolean): (value: string) => boolean {
  const expectedText = caseSensitive ? expected : expected.toLowerCase();
  return (value) => {
    const actual = caseSensitive ? value : value.toLowerCase();
    if (operator === 'exact') return actual === expectedText;
    if (operator === 'contains') return actual.includes(expectedText);
    if (operator === 'startswith') return actual.startsWith(expectedText);
    return actual.endsWith(expectedText);
  };
}

/**
 * Adds predicates for `field`, `field.exact`, `field.contains`, `field.startswith` and
 * `field.endswith`. A plain `field=` is an exact match.
 */
function addTextFilters(
  filters: RecordPredicate[],
  query: URLSearchParams,
  field: string,
  read: (record: StoredRecord) => string | null,
  caseSensitive: boolean,
  normalizeExact: (value: string) => string = (value) => value,
): void {
  for (const value of query.getAll(field)) {
    const test = textTest('exact', normalizeExact(value), caseSensitive);
    filters.push((record) => test(read(record) ?? ''));
  }
  for (const operator of TEXT_OPERATORS) {
    for (const value of query.getAll(`${field}.${operator}`)) {
      const expected = operator === 'exact' ? normalizeExact(value) : value;
      const test = textTest(operator, expected, caseSensitive);
      filters.push((record) => {
        const actual = read(record);
        return actual !== null && test(actual);
      });
    }
  }
}

/** Names must be full FQDNs to match; a trailing dot and Unicode labels are normalised first. */
function normalizeNameFilter(value: string): string {
  return normalizeHostName(value) ?? value.toLowerCase();
}

function nonTagFilters(query: URLSearchParams): RecordPredicate[] {
  const filters: RecordPredicate[] = [];
  for (const type of query.getAll('type')) filters.push((record) => record.type === type.toUpperCase());
  addTextFilters(filters, query, 'name', (record) => record.name, false, normalizeNameFilter);
  addTextFilters(filters, query, 'content', (record) => record.content, false);
  addTextFilters(filters, query, 'comment', (record) => record.comment, true);
  if (query.has('comment.present')) filters.push((record) => record.comment !== null);
  if (query.has('comment.absent')) filters.push((record) => record.comment === null);
  for (const proxied of query.getAll('proxied')) {
    if (proxied !== 'true' && proxied !== 'false') {
      throw validationFailed(`proxied must be true or false, got ${JSON.stringify(proxied)}.`);
    }
    filters.push((record) => record.proxied === (proxied === 'true'));
  }
  // NOTE: Cloudflare does not specify `search`; the simulator matches it as a case-insensitive
  // substring of name, content or comment.
  for (const search of query.getAll('search')) {
    const needle = search.toLowerCase();
    filters.push((record) =>
      [record.name, record.content, record.comment ?? ''].some((value) => value.toLowerCase().includes(needle)),
    );
  }
  return filters;
}

function splitTag(tag: string): { name: string; value: string } {
  const colon = tag.indexOf(':');
  if (colon < 0) return { name: tag.toLowerCase(), value: '' };
  return { name: tag.slice(0, colon).toLowerCase(), value: tag.slice(colon + 1) };
}

/** Tag filters; tag names compare case-insensitively, values case-sensitively. */
function tagFilters(query: URLSearchParams): RecordPredicate[] {
  const filters: RecordPredicate[] = [];
  const tagsOf = (record: StoredRecord) => record.tags.map(splitTag);
  const hasTagName = (record: StoredRecord, name: string) => tagsOf(record).some((tag) => tag.name === name.toLowerCase());

  for (const tag of query.getAll('tag')) {
    const expectedTag = splitTag(tag);
    if (!tag.includes(':')) filters.push((record) => hasTagName(record, expectedTag.name));
    else filters.push((record) => tagsOf(record).some((t) => t.name === expectedTag.name && t.value === expectedTag.value));
  }
  for (const name of query.getAll('tag.present')) filters.push((record) => hasTagName(record, name));
  for (const name of query.getAll('tag.absent')) filters.push((record) => !hasTagName(record, name));
  for (const operator of TEXT_OPERATORS) {
    for (const tag of query.getAll(`tag.${operator}`)) {
      const expectedTag = splitTag(tag);
      const test = textTest(operator, expectedTag.value, true);
      filters.push((record) => tagsOf(record).some((t) => t.name === expectedTag.name && test(t.value)));
    }
  }
  return filters;
}

/**
 * Filters and orders records for GET …/dns_records. `match` combines the non-tag filters and
 * `tag_match` the tag filters; both groups must hold. The default order is by type, ascending, and
 * creation order breaks ties.
 */
export function selectRecords(records: readonly StoredRecord[], query: URLSearchParams): StoredRecord[] {
  const nonTag = combine(nonTagFilters(query), readMatch(query));
  const tags = combine(tagFilters(query), readMatch(query, 'tag_match'));
  const selected = records.filter((record) => nonTag(record) && tags(record));

  const order = query.get('order') ?? 'type';
  const key = RECORD_ORDER_KEYS[order];
  if (key === undefined) {
    throw validationFailed(`order ${JSON.stringify(order)} is invalid; use ${Object.keys(RECORD_ORDER_KEYS).join(', ')}.`);
  }
  const direction = readDirection(query);
  // Array.prototype.sort is stable, so records with equal keys keep their creation order.
  return [...selected].sort((left, right) => direction * compareValues(key(left), key(right)));
}
