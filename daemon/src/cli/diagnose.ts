import { cellText, renderData, type OutputFormat, type TextOptions } from './output.js';

/** The answer of GET /diagnose/{name}. */
export interface Diagnosis {
  name: string;
  kind: 'domain' | 'service';
  verdict: 'ok' | 'warning' | 'failed';
  checks: Array<{ id: string; title: string; verdict: 'ok' | 'warning' | 'failed' | 'skipped'; message: string; fix?: string }>;
}

export function isDiagnosis(data: unknown): data is Diagnosis {
  if (typeof data !== 'object' || data === null) return false;
  const record = data as Record<string, unknown>;
  return typeof record['name'] === 'string' && typeof record['verdict'] === 'string' && Array.isArray(record['checks']);
}

/**
 * Text form of a diagnosis: a line with the name and the verdict, then per check its verdict and
 * title, the message below, and the fix when the check has one. Other formats print the data.
 */
export function renderDiagnosis(diagnosis: Diagnosis, format: OutputFormat, options: TextOptions): string {
  if (format !== 'text') return renderData(diagnosis, format, options);
  const lines: string[] = [];
  if (options.header) lines.push(`${diagnosis.name} (${diagnosis.kind}): ${diagnosis.verdict}`, '');
  const width = Math.max(7, ...diagnosis.checks.map((check) => check.verdict.length));
  const indent = ' '.repeat(width + 2);
  for (const check of diagnosis.checks) {
    lines.push(`${check.verdict.padEnd(width)}  ${check.title}`);
    if (check.message !== '') lines.push(`${indent}${cellText(check.message)}`);
    if (check.fix !== undefined && check.fix !== '') lines.push(`${indent}fix: ${check.fix}`);
  }
  return lines.join('\n');
}
