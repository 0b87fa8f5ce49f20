/**
 * The Prometheus text exposition format, version 0.0.4: one `# HELP` and one `# TYPE` line per
 * family, then one line per sample, `name{label="value",...} value`.
 */

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws when `name` is not a valid metric name, or a counter's name lacks the `_total` suffix. */
export function checkMetricName(name: string, type: MetricType): void {
  if (!metricName.test(name)) throw new Error(`Invalid metric name "${name}": use letters, digits, _ and :, not starting with a digit`);
  if (type === 'counter' && !name.endsWith('_total')) throw new Error(`Invalid counter name "${name}": counters end in _total`);
}

/** Throws when `name` is not a valid label name; names starting with `__` are reserved by Prometheus. */
export function checkLabelName(name: string): void {
  if (!labelName.test(name) || name.startsWith('__')) throw new Error(`Invalid label name "${name}": use letters, digits and _, not starting with a digit or __`);
}

/** Escapes a label value: backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** Escapes HELP text: backslash and line feed only. */
export function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

/** Writes a sample value as Go's ParseFloat reads it, with the format's spelling of infinities and NaN. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  const pairs = names.map((name) => {
    checkLabelName(name);
    return `${name}="${escapeLabelValue(labels[name] ?? '')}"`;
  });
  return `{${pairs.join(',')}}`;
}

/** Renders families in the order given; a family without samples still gets its HELP and TYPE lines. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    checkMetricName(family.name, family.type);
    if (seen.has(family.name)) throw new Error(`Metric family ${family.name} is listed twice; merge its samples into one family`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
