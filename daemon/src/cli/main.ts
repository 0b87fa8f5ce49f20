import { readFileSync } from 'node:fs';
import { defaultConfigPath } from '../config.js';
import { parseArguments, usage, UsageError, type CliCommand } from './arguments.js';
import { callApi } from './client.js';
import { renderData } from './output.js';

const defaultSocket = '/run/pve-domains/api.sock';

/** A `--NAME-file` parameter whose file cannot be read. */
class ParameterFileError extends Error {}

/** Socket from --socket, PVE_DOMAINS_SOCKET, the daemon's configuration file, or the default. */
function resolveSocket(command: CliCommand): string {
  if (command.socket !== null) return command.socket;
  const fromEnvironment = process.env['PVE_DOMAINS_SOCKET'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  try {
    const config = JSON.parse(readFileSync(process.env['PVE_DOMAINS_CONFIG'] ?? defaultConfigPath, 'utf8')) as { api?: { socket?: unknown }; runDir?: unknown };
    if (typeof config.api?.socket === 'string') return config.api.socket;
    if (typeof config.runDir === 'string') return `${config.runDir}/api.sock`;
  } catch {
    // No readable configuration: the packaged default applies.
  }
  return defaultSocket;
}

/** Replaces `--NAME-file PATH` parameters by `--NAME` with the file's first line, so secrets stay off the command line. */
function readFileParameters(parameters: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters)) {
    if (name.endsWith('-file') && name !== 'file') {
      const target = name.slice(0, -'-file'.length);
      let content: string;
      try {
        content = readFileSync(value, 'utf8');
      } catch (err) {
        throw new ParameterFileError(`unable to read --${name} ${value}: ${(err as Error).message}`);
      }
      result[target] = (content.split('\n')[0] ?? '').trim();
    } else {
      result[name] = value;
    }
  }
  return result;
}

/**
 * Turns command-line values into a request body. A value written as JSON list, object or
 * `null` (`--health-check '{"path":"/healthz"}'`) is sent as that JSON value; every other value
 * is sent as a string, which the daemon converts where its schema wants a number or boolean.
 */
export function bodyValues(parameters: Record<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) {
    const trimmed = value.trim();
    if (trimmed === 'null' || trimmed.startsWith('[') || trimmed.startsWith('{')) {
      try {
        body[name] = JSON.parse(trimmed) as unknown;
        continue;
      } catch {
        // Not JSON after all: sent as text, and validation names the parameter.
      }
    }
    body[name] = value;
  }
  return body;
}

const methods: Record<CliCommand['verb'], string> = { ls: 'GET', get: 'GET', create: 'POST', set: 'PUT', delete: 'DELETE' };

/** Runs the CLI; returns the process exit code. */
export async function runCli(argv: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help') {
    out(usage);
    return argv.length === 0 ? 2 : 0;
  }
  let command: CliCommand;
  let parameters: Record<string, string>;
  try {
    command = parseArguments(argv);
    parameters = readFileParameters(command.parameters);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`pve-domains: ${error.message}\n${usage}`);
      return 2;
    }
    if (error instanceof ParameterFileError) {
      err(`pve-domains: ${error.message}`);
      return 1;
    }
    throw error;
  }

  const socket = resolveSocket(command);
  const method = methods[command.verb];
  const withBody = method === 'POST' || method === 'PUT';
  const query = !withBody && Object.keys(parameters).length > 0 ? `?${new URLSearchParams(parameters).toString()}` : '';
  let answer;
  try {
    answer = await callApi(socket, method, `${command.path}${query}`, withBody ? bodyValues(parameters) : null);
  } catch (error) {
    err(`pve-domains: unable to reach pve-domainsd at ${socket}: ${(error as Error).message}; check that the daemon runs (systemctl status pve-domainsd) and that you are root`);
    return 1;
  }

  if (answer.status >= 400) {
    err(`pve-domains: ${answer.body.message ?? `HTTP ${answer.status}`}`);
    for (const [name, message] of Object.entries(answer.body.errors ?? {})) err(`  ${name}: ${message}`);
    return 1;
  }
  const rendered = renderData(answer.body.data, command.outputFormat);
  if (rendered !== '') out(rendered);
  return 0;
}
