/**
 * Runs every benchmark of the project one after another, captures what each prints and writes
 * docs/benchmarks.md: the machine, then per benchmark the exact command, its start time, its
 * duration, its exit status and its output. Nothing in that page is typed by hand.
 *
 *   npx tsx scripts/benchmarks-report.ts
 *
 * Environment variables that the benchmarks read (BENCH_RUNS, SCALE_*, API_LOAD_*) are passed
 * through and shown in front of the command they changed. BENCH_REPORT_TIMEOUT_S bounds each
 * benchmark (default 3600 s); a benchmark that runs longer is stopped and marked as timed out.
 * BENCH_REPORT_ONLY, a list of section titles separated by `;` (titles contain commas), runs
 * only those benchmarks and keeps the other sections of the existing page as they are.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outputFile = join(repositoryRoot, 'docs', 'benchmarks.md');

interface Benchmark {
  title: string;
  /** Command and arguments, run in the repository root. */
  command: string[];
  /** Benchmark source file; the benchmark is skipped when it is missing. */
  source: string;
  /** Environment variables the benchmark reads. */
  variables: string[];
  /** Fixed settings of this run, which take precedence over the caller's environment. */
  env?: Record<string, string>;
}

const benchmarks: Benchmark[] = [
  { title: 'Expose to HTTPS', command: ['npm', 'run', '--silent', 'bench'], source: 'test/bench/expose-to-https.ts', variables: ['BENCH_RUNS'] },
  { title: 'Route change and throughput: HAProxy against nginx', command: ['npm', 'run', '--silent', 'bench:ingress'], source: 'test/bench/ingress-compare.ts', variables: [] },
  { title: 'Certificate order to served certificate', command: ['npx', 'tsx', 'test/bench/certificate-order.ts'], source: 'test/bench/certificate-order.ts', variables: [] },
  { title: 'UI grid render', command: ['npx', 'tsx', 'test/bench/ui-render.ts'], source: 'test/bench/ui-render.ts', variables: [] },
  { title: 'API under load', command: ['npx', 'tsx', 'test/bench/api-load.ts'], source: 'test/bench/api-load.ts', variables: ['API_LOAD_DOMAINS', 'API_LOAD_SERVICES', 'API_LOAD_SECONDS', 'API_LOAD_CONNECTIONS'] },
  { title: 'Scale: 1,000 domains and 10,000 services', command: ['npx', 'tsx', 'test/bench/scale.ts'], source: 'test/bench/scale.ts', variables: ['SCALE_DOMAINS', 'SCALE_SERVICES', 'SCALE_LIST_CALLS', 'SCALE_RECONCILE_TIMEOUT_S'] },
  // A store small enough for the reconcile after restart to finish here, for the figures that the
  // full-size run cannot reach in its time limit.
  {
    title: 'Scale: scaled down',
    command: ['npx', 'tsx', 'test/bench/scale.ts'],
    source: 'test/bench/scale.ts',
    variables: [],
    env: { SCALE_DOMAINS: '20', SCALE_SERVICES: '200', SCALE_LIST_CALLS: '20', SCALE_RECONCILE_TIMEOUT_S: '600' },
  },
];

/** Sections of the existing page by title, each as its lines below the heading. */
function existingSections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  if (!existsSync(outputFile)) return sections;
  let current: string[] | null = null;
  for (const line of readFileSync(outputFile, 'utf8').split('\n')) {
    if (line.startsWith('## ')) {
      current = [];
      sections.set(line.slice(3), current);
    } else if (current !== null) {
      current.push(line);
    }
  }
  return sections;
}

interface RunResult {
  commandLine: string;
  startedAt: Date;
  durationS: number;
  exit: string;
  output: string;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown';
}

/** Returns the first line a version command prints on stdout or stderr, or why it could not run. */
function versionOf(binary: string, args: string[]): string {
  // nginx prints its version to stderr and HAProxy to stdout, so both streams are read.
  const run = spawnSync(binary, args, { encoding: 'utf8' });
  if (run.error !== undefined) return `not available (${run.error.message})`;
  return firstLine(`${run.stdout}\n${run.stderr}`);
}

function describeMachine(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const processors = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const os = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1] ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryRoot, encoding: 'utf8' }).trim();
  } catch {
    // Outside a git checkout the commit stays unknown.
  }
  return [
    `- CPU: ${model}, ${processors} logical processors (/proc/cpuinfo)`,
    `- RAM: ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${os}, Linux ${release()}`,
    `- Node: ${process.version}`,
    `- HAProxy: ${versionOf('/usr/sbin/haproxy', ['-v'])}`,
    `- nginx: ${versionOf('/usr/sbin/nginx', ['-v'])}`,
    `- Commit: ${commit} (uncommitted changes may be present)`,
  ];
}

function runBenchmark(benchmark: Benchmark, timeoutMs: number): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...benchmark.env };
  const names = [...Object.keys(benchmark.env ?? {}), ...benchmark.variables.filter((name) => benchmark.env?.[name] === undefined)];
  const assignments = names.filter((name) => env[name] !== undefined).map((name) => `${name}=${env[name] ?? ''}`);
  const commandLine = [...assignments, ...benchmark.command].join(' ');
  const startedAt = new Date();
  process.stderr.write(`benchmarks-report: running ${commandLine}\n`);
  return new Promise((resolveRun) => {
    const [binary, ...args] = benchmark.command as [string, ...string[]];
    // Its own process group, so that a timeout stops the benchmark together with the servers it started.
    const child = spawn(binary, args, { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationS = (Date.now() - startedAt.getTime()) / 1000;
      let exit = code === 0 ? 'ok' : `failed with exit code ${String(code)}`;
      if (timedOut) exit = `timed out after ${timeoutMs / 1000} s and was stopped`;
      else if (signal !== null) exit = `stopped by ${signal}`;
      resolveRun({ commandLine, startedAt, durationS, exit, output: Buffer.concat(chunks).toString('utf8').trimEnd() });
    });
  });
}

function renderPage(machine: string[], results: Array<{ benchmark: Benchmark; result: RunResult | null | 'kept' }>, generatedAt: Date, keptSections: Map<string, string[]>): string {
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npx tsx scripts/benchmarks-report.ts\` on ${generatedAt.toISOString()}. Every figure below is`,
    'the output of the command above it, copied by the script, and each section gives the time its',
    'benchmark started. Rerun the script to update the page.',
    '',
    '## Machine',
    '',
    ...machine,
    '',
  ];
  for (const { benchmark, result } of results) {
    if (result === 'kept') {
      lines.push(`## ${benchmark.title}`, ...(keptSections.get(benchmark.title) ?? ['', 'Not run yet.', '']));
      continue;
    }
    lines.push(`## ${benchmark.title}`, '');
    if (result === null) {
      lines.push(`Skipped: ${benchmark.source} does not exist in this checkout.`, '');
      continue;
    }
    lines.push('```sh', result.commandLine, '```', '');
    lines.push(`Started ${result.startedAt.toISOString()}, took ${result.durationS.toFixed(0)} s, ${result.exit}.`, '');
    lines.push('```text', result.output === '' ? '(no output)' : result.output, '```', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

const timeoutText = process.env['BENCH_REPORT_TIMEOUT_S'] ?? '3600';
const timeoutS = Number(timeoutText);
if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`BENCH_REPORT_TIMEOUT_S=${timeoutText} is invalid: expected a number of seconds above 0`);

const generatedAt = new Date();
const machine = describeMachine();
const only = (process.env['BENCH_REPORT_ONLY'] ?? '').split(';').map((title) => title.trim()).filter((title) => title !== '');
const keptSections = existingSections();
const results: Array<{ benchmark: Benchmark; result: RunResult | null | 'kept' }> = [];
const unknownTitles = only.filter((title) => !benchmarks.some((benchmark) => benchmark.title === title));
if (unknownTitles.length > 0) {
  throw new Error(`BENCH_REPORT_ONLY names no benchmark called ${unknownTitles.map((title) => JSON.stringify(title)).join(', ')}; use these titles, separated by ';': ${benchmarks.map((benchmark) => benchmark.title).join('; ')}`);
}
for (const benchmark of benchmarks) {
  if (only.length > 0 && !only.includes(benchmark.title)) {
    results.push({ benchmark, result: 'kept' });
    continue;
  }
  if (!existsSync(join(repositoryRoot, benchmark.source))) {
    results.push({ benchmark, result: null });
    continue;
  }
  results.push({ benchmark, result: await runBenchmark(benchmark, timeoutS * 1000) });
  // Written after every benchmark, so that an interrupted run still leaves the figures it has.
  await mkdir(dirname(outputFile), { recursive: true });
  await writeFile(outputFile, renderPage(machine, results, generatedAt, keptSections));
}
await writeFile(outputFile, renderPage(machine, results, generatedAt, keptSections));
process.stderr.write(`benchmarks-report: wrote ${outputFile}\n`);
