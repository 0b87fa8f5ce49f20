import type { OpenApiDocument } from '../api/openapi.js';
import { apiVerbs, cliParameters, fillTemplate, matchPath, methodOfVerb, normalisePath, operationOf, verbsOf, type Verb } from './api-schema.js';
import { splitCommandLine, takeGlobalOptions, type GlobalOptions } from './arguments.js';
import { apiData } from './client.js';
import { resolveEndpoint, type Endpoint } from './connection.js';
import { isDiagnosis, renderDiagnosis } from './diagnose.js';
import { ApiError, ConnectionError, exitCodes, UsageError } from './errors.js';
import { helpText, synopsis } from './help.js';
import { listEntries, renderListingText } from './listing.js';
import { renderData } from './output.js';
import { closestName, resolveParameters, type RawOption, type SecretInput } from './parameters.js';
import { resolveCertificateId } from './renew.js';
import { usageLine, usageText } from './usage.js';

/** What the CLI reads and writes besides the network; the binary passes the process's own. */
export interface CliIo {
  /** Writes one block of output; a newline follows. */
  out(text: string): void;
  /** Writes one block of diagnostics to stderr; a newline follows. */
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  secrets: SecretInput;
}

const otherCommands = ['usage', 'diagnose', 'renew', 'status', 'help'];

/** Diagnosis runs DNS queries at every authoritative server and TLS probes, which can take a while. */
const diagnoseTimeoutMs = 180_000;

function isVerb(command: string): command is Verb {
  return (apiVerbs as readonly string[]).includes(command);
}

function rejectParameters(command: string, options: readonly RawOption[]): void {
  const first = options[0];
  if (first !== undefined) throw new UsageError(`${command} takes no parameter --${first.name}`, `USAGE: ${helpLineOf(command)}`);
}

function helpLineOf(command: string): string {
  return synopsis.find((line) => line.startsWith(`pve-domains ${command}`)) ?? `pve-domains ${command}`;
}

function onePositional(command: string, positionals: readonly string[], what: string): string {
  const [value, extra] = positionals;
  if (value === undefined) throw new UsageError(`${command} needs ${what}`, `USAGE: ${helpLineOf(command)}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" after ${value}; options are written --name value`, `USAGE: ${helpLineOf(command)}`);
  return value;
}

function apiPath(command: string, positionals: readonly string[]): string {
  const path = onePositional(command, positionals, 'an API path, such as /services');
  if (!path.startsWith('/')) throw new UsageError(`the API path "${path}" must start with /, such as /services/${path}`);
  return normalisePath(path);
}

async function fetchSchema(endpoint: Endpoint): Promise<OpenApiDocument> {
  const data = await apiData(endpoint, { method: 'GET', path: '/schema' });
  if (typeof data !== 'object' || data === null || typeof (data as { paths?: unknown }).paths !== 'object') {
    throw new ConnectionError('the daemon answered GET /schema without an OpenAPI document; is pve-domainsd as new as pve-domains?');
  }
  return data as OpenApiDocument;
}

function print(io: CliIo, text: string): void {
  if (text !== '') io.out(text);
}

async function runApiCommand(verb: Verb, positionals: readonly string[], options: readonly RawOption[], io: CliIo): Promise<number> {
  const path = apiPath(verb, positionals);
  const { globals, rest } = takeGlobalOptions(options);
  const endpoint = resolveEndpoint(globals, io.env);
  const document = await fetchSchema(endpoint);
  const match = matchPath(document, path);
  if (match === undefined) throw new UsageError(`no API path matches ${path}; list the paths with pve-domains ls /`);

  if (verb === 'ls') {
    rejectParameters('ls', rest);
    const entries = await listEntries(document, endpoint, path);
    print(io, globals.outputFormat === 'text' ? renderListingText(entries) : renderData(entries, globals.outputFormat));
    return exitCodes.ok;
  }

  const method = methodOfVerb[verb];
  const operation = operationOf(document, match.template, method);
  if (operation === undefined) {
    const verbs = verbsOf(document, match.template);
    throw new UsageError(`${match.template} has no ${verb} command (no ${method.toUpperCase()} route); its commands are ${verbs.join(', ') || 'none'}`);
  }
  const usageHint = `USAGE: ${usageLine(document, match.template, verb)}\n(pve-domains usage ${match.template} --command ${verb} --verbose describes each parameter)`;
  const resolved = await resolveParameters(cliParameters(operation), rest, io.secrets, { usageHint, pathParameters: Object.keys(match.params) });
  const data = await apiData(endpoint, {
    method: method.toUpperCase() as 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: fillTemplate(match.template, match.params),
    query: resolved.query,
    ...(operation.requestBody === undefined ? {} : { body: resolved.body }),
  });
  print(io, renderData(data, globals.outputFormat, globals));
  return exitCodes.ok;
}

async function runUsage(positionals: readonly string[], options: readonly RawOption[], io: CliIo): Promise<number> {
  const path = apiPath('usage', positionals);
  let verbose = false;
  let command: Verb | undefined;
  const connection: RawOption[] = [];
  for (const option of options) {
    if (option.name === 'verbose') {
      if (option.value !== null && option.value !== '1' && option.value !== '0') throw new UsageError(`--verbose takes 0 or 1, not "${option.value}"`);
      verbose = option.value !== '0';
    } else if (option.name === 'command') {
      if (option.value === null || !isVerb(option.value)) throw new UsageError(`--command takes one of ${apiVerbs.join(', ')}`);
      command = option.value;
    } else {
      connection.push(option);
    }
  }
  const { globals, rest } = takeGlobalOptions(connection);
  rejectParameters('usage', rest);
  const document = await fetchSchema(resolveEndpoint(globals, io.env));
  io.out(usageText(document, path, { verbose, command }));
  return exitCodes.ok;
}

/** Global options of a command that is no API path, after checking it has no other options. */
function commandGlobals(command: string, options: readonly RawOption[]): GlobalOptions {
  const { globals, rest } = takeGlobalOptions(options);
  rejectParameters(command, rest);
  return globals;
}

async function runDiagnose(positionals: readonly string[], options: readonly RawOption[], io: CliIo): Promise<number> {
  const name = onePositional('diagnose', positionals, 'a domain or a service name, such as app.example.com');
  const globals = commandGlobals('diagnose', options);
  const data = await apiData(resolveEndpoint(globals, io.env), { method: 'GET', path: `/diagnose/${encodeURIComponent(name)}`, timeoutMs: diagnoseTimeoutMs });
  if (!isDiagnosis(data)) throw new ConnectionError(`the answer to GET /diagnose/${name} is not a diagnosis; is pve-domainsd as new as pve-domains?`);
  print(io, renderDiagnosis(data, globals.outputFormat, globals));
  return data.verdict === 'ok' ? exitCodes.ok : exitCodes.diagnosisNotOk;
}

async function runRenew(positionals: readonly string[], options: readonly RawOption[], io: CliIo): Promise<number> {
  const name = onePositional('renew', positionals, 'a certificate id, a service name or a domain');
  const globals = commandGlobals('renew', options);
  const endpoint = resolveEndpoint(globals, io.env);
  const id = await resolveCertificateId(endpoint, name);
  const data = await apiData(endpoint, { method: 'POST', path: `/certificates/${encodeURIComponent(id)}/renew` });
  print(io, renderData(data, globals.outputFormat, globals));
  return exitCodes.ok;
}

async function runStatus(positionals: readonly string[], options: readonly RawOption[], io: CliIo): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`status takes no argument, not "${positionals[0] as string}"`);
  const globals = commandGlobals('status', options);
  const data = await apiData(resolveEndpoint(globals, io.env), { method: 'GET', path: '/status' });
  print(io, renderData(data, globals.outputFormat, globals));
  return exitCodes.ok;
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.err(helpText());
    return exitCodes.usage;
  }
  const line = splitCommandLine(argv);
  if (isVerb(line.command)) return runApiCommand(line.command, line.positionals, line.options, io);
  switch (line.command) {
    case 'help':
    case '--help':
    case '-h':
      // `help PATH` is `usage PATH --verbose`, as in pvesh.
      if (line.positionals.length > 0) return runUsage(line.positionals, [{ name: 'verbose', value: null }, ...line.options], io);
      io.out(helpText());
      return exitCodes.ok;
    case 'usage':
      return runUsage(line.positionals, line.options, io);
    case 'diagnose':
      return runDiagnose(line.positionals, line.options, io);
    case 'renew':
      return runRenew(line.positionals, line.options, io);
    case 'status':
      return runStatus(line.positionals, line.options, io);
    default: {
      const suggestion = closestName(line.command, [...apiVerbs, ...otherCommands]);
      const hint = suggestion === undefined ? `the commands are ${[...apiVerbs, ...otherCommands].join(', ')}` : `did you mean ${suggestion}?`;
      throw new UsageError(`unknown command "${line.command}"; ${hint}`, 'pve-domains help lists the commands');
    }
  }
}

/** PVE's form of an API error: `STATUS MESSAGE`, then one `parameter: message` line per invalid parameter. */
export function formatApiError(error: ApiError): string {
  return [`${error.status} ${error.message}`, ...Object.entries(error.parameters).map(([name, message]) => `${name}: ${message}`)].join('\n');
}

/** Runs the CLI; returns the exit status (see exitCodes). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`pve-domains: ${error.message}${error.hint === undefined ? '' : `\n\n${error.hint}`}`);
      return exitCodes.usage;
    }
    if (error instanceof ApiError) {
      io.err(formatApiError(error));
      return exitCodes.api;
    }
    if (error instanceof ConnectionError) {
      io.err(`pve-domains: ${error.message}`);
      return exitCodes.connection;
    }
    throw error;
  }
}
