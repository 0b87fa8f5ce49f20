/** Renders API data as pvesh does in its text format: tables for lists, key/value lines for objects. */

function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0] as object).filter((key) => rows.every((row) => isScalar(row[key]) || row[key] === undefined));
  const cells = rows.map((row) => columns.map((column) => scalar(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => (line[index] ?? '').length)));
  const line = (values: string[]): string => `│ ${values.map((value, index) => value.padEnd(widths[index] ?? 0)).join(' │ ')} │`;
  const rule = (left: string, middle: string, right: string): string => `${left}${widths.map((width) => '─'.repeat(width + 2)).join(middle)}${right}`;
  return [rule('┌', '┬', '┐'), line(columns), rule('╞', '╪', '╡'), ...cells.map(line), rule('└', '┴', '┘')].join('\n');
}

function keyValue(object: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(object).map((key) => key.length));
  return Object.entries(object)
    .map(([key, value]) => `${key.padEnd(width)}  ${scalar(value)}`)
    .join('\n');
}

export function renderData(data: unknown, format: 'text' | 'json' | 'json-pretty'): string {
  if (format === 'json') return JSON.stringify(data);
  if (format === 'json-pretty') return JSON.stringify(data, null, 2);
  if (data === null || data === undefined) return '';
  if (Array.isArray(data)) {
    if (data.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) return table(data as Array<Record<string, unknown>>);
    return data.map(scalar).join('\n');
  }
  if (typeof data === 'object') return keyValue(data as Record<string, unknown>);
  return scalar(data);
}
