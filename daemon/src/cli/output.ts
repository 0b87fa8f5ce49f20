import { stringify as toYaml } from 'yaml';

/**
 * Prints API data as pvesh does: `text` shows lists as aligned tables and objects as key/value
 * tables, `json` and `json-pretty` print the API's `data` unchanged, `yaml` the same as YAML.
 */

export const outputFormats = ['text', 'json', 'json-pretty', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export interface TextOptions {
  /** Box-drawing borders, as pvesh draws them; off with --noborder. */
  border: boolean;
  /** The column names line; off with --noheader. */
  header: boolean;
}

type Row = Record<string, unknown>;

function isPlainObject(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value);
}

/** A value fits in a table cell when it is a scalar or a list of scalars. */
function fitsCell(value: unknown): boolean {
  return isScalar(value) || (Array.isArray(value) && value.every(isScalar));
}

/** Text of one cell: booleans as 1 and 0 (PVE's form), lists of scalars joined by commas, anything else as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && value.every(isScalar)) return value.map(cellText).join(',');
  return JSON.stringify(value);
}

/** Renders rows of cells under `columns`, with or without borders and header. */
export function renderTable(columns: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TextOptions): string {
  const widths = columns.map((column, index) => Math.max(options.header ? column.length : 0, ...rows.map((row) => (row[index] ?? '').length)));
  if (!options.border) {
    const line = (cells: readonly string[]): string =>
      cells
        .map((cell, index) => cell.padEnd(widths[index] ?? 0))
        .join(' ')
        .trimEnd();
    return [...(options.header ? [line(columns)] : []), ...rows.map(line)].join('\n');
  }
  const line = (cells: readonly string[]): string => `│ ${cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join(' │ ')} │`;
  const rule = (left: string, fill: string, middle: string, right: string): string => `${left}${widths.map((width) => fill.repeat(width + 2)).join(middle)}${right}`;
  const lines = [rule('┌', '─', '┬', '┐')];
  if (options.header) lines.push(line(columns), rule('╞', '═', '╪', '╡'));
  lines.push(...rows.map(line), rule('└', '─', '┴', '┘'));
  return lines.join('\n');
}

/** Columns of a list: every key in the order first seen, except those holding objects or lists of objects. */
export function listColumns(rows: readonly Row[]): string[] {
  const keys: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys.filter((key) => rows.every((row) => fitsCell(row[key])));
}

/** Flattens nested objects into dotted keys (`lock.holder`); lists stay values. */
export function flattenObject(object: Row, prefix = ''): Array<[string, unknown]> {
  const entries: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(object)) {
    const name = `${prefix}${key}`;
    if (isPlainObject(value) && Object.keys(value).length > 0) entries.push(...flattenObject(value, `${name}.`));
    else entries.push([name, value]);
  }
  return entries;
}

function renderText(data: unknown, options: TextOptions): string {
  if (data === null || data === undefined) return '';
  if (Array.isArray(data)) {
    if (data.length > 0 && data.every(isPlainObject)) {
      const columns = listColumns(data);
      return renderTable(columns, data.map((row) => columns.map((column) => cellText(row[column]))), options);
    }
    return data.map(cellText).join('\n');
  }
  if (isPlainObject(data)) {
    const rows = flattenObject(data).map(([key, value]) => [key, cellText(value)]);
    return renderTable(['key', 'value'], rows, options);
  }
  return cellText(data);
}

/** Renders `data` (the API's `data` member); returns '' when there is nothing to print. */
export function renderData(data: unknown, format: OutputFormat, options: TextOptions = { border: true, header: true }): string {
  switch (format) {
    case 'json':
      return JSON.stringify(data ?? null);
    case 'json-pretty':
      return JSON.stringify(data ?? null, null, 2);
    case 'yaml':
      return toYaml(data ?? null).trimEnd();
    default:
      return renderText(data, options);
  }
}
