import { UsageError } from './errors.js';
import { outputFormats, type OutputFormat } from './output.js';
import type { RawOption } from './parameters.js';

/**
 * Splits a `pve-domains` command line: the command, its positional arguments (an API path or a
 * name), then `--name value` options. As with pvesh, positional arguments come first; after the
 * first option every word that does not start with `--` is the value of the option before it.
 */

export interface CommandLine {
  command: string;
  positionals: string[];
  options: RawOption[];
}

export function splitCommandLine(argv: readonly string[]): CommandLine {
  const [command = '', ...rest] = argv;
  const positionals: string[] = [];
  const options: RawOption[] = [];
  let index = 0;
  while (index < rest.length && !(rest[index] as string).startsWith('--')) positionals.push(rest[index++] as string);
  for (; index < rest.length; index++) {
    const word = rest[index] as string;
    if (!word.startsWith('--') || word.length === 2) {
      throw new UsageError(`unexpected argument "${word}"; options are written --name value, after the path`);
    }
    const equals = word.indexOf('=');
    if (equals !== -1) {
      options.push({ name: word.slice(2, equals), value: word.slice(equals + 1) });
      continue;
    }
    const next = rest[index + 1];
    if (next !== undefined && !next.startsWith('--')) {
      options.push({ name: word.slice(2), value: next });
      index++;
    } else {
      options.push({ name: word.slice(2), value: null });
    }
  }
  return { command, positionals, options };
}

/** Options of the CLI itself, valid with every command. */
export interface GlobalOptions {
  outputFormat: OutputFormat;
  border: boolean;
  header: boolean;
  /** Unix socket of the daemon (root on a node). */
  socket: string | undefined;
  /** HOST or HOST:PORT of a daemon's HTTPS API. */
  host: string | undefined;
  tokenFile: string | undefined;
  ca: string | undefined;
}

export const globalOptionNames = ['output-format', 'noborder', 'noheader', 'socket', 'host', 'token-file', 'ca'] as const;

function flagValue(option: RawOption): boolean {
  if (option.value === null || option.value === '1') return true;
  if (option.value === '0') return false;
  throw new UsageError(`--${option.name} takes 0 or 1, not "${option.value}"`);
}

function requireValue(option: RawOption, what: string): string {
  if (option.value === null || option.value === '') throw new UsageError(`--${option.name} needs ${what}`);
  return option.value;
}

/**
 * Takes the global options out of `options`; returns them and the remaining options, which are
 * the API call's parameters.
 */
export function takeGlobalOptions(options: readonly RawOption[]): { globals: GlobalOptions; rest: RawOption[] } {
  const globals: GlobalOptions = { outputFormat: 'text', border: true, header: true, socket: undefined, host: undefined, tokenFile: undefined, ca: undefined };
  const rest: RawOption[] = [];
  const seen = new Set<string>();
  for (const option of options) {
    if (!(globalOptionNames as readonly string[]).includes(option.name)) {
      rest.push(option);
      continue;
    }
    if (seen.has(option.name)) throw new UsageError(`--${option.name} is given twice`);
    seen.add(option.name);
    switch (option.name) {
      case 'output-format': {
        const value = requireValue(option, `one of ${outputFormats.join(', ')}`);
        if (!(outputFormats as readonly string[]).includes(value)) throw new UsageError(`--output-format must be one of ${outputFormats.join(', ')}, not "${value}"`);
        globals.outputFormat = value as OutputFormat;
        break;
      }
      case 'noborder':
        globals.border = !flagValue(option);
        break;
      case 'noheader':
        globals.header = !flagValue(option);
        break;
      case 'socket':
        globals.socket = requireValue(option, 'the path of the unix socket');
        break;
      case 'host':
        globals.host = requireValue(option, 'HOST or HOST:PORT');
        break;
      case 'token-file':
        globals.tokenFile = requireValue(option, 'the path of the API token file');
        break;
      case 'ca':
        globals.ca = requireValue(option, 'the path of a CA certificate file (PEM)');
        break;
    }
  }
  return { globals, rest };
}
