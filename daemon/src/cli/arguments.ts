/** A parsed `pve-domains` command line. */
export interface CliCommand {
  verb: 'ls' | 'get' | 'create' | 'set' | 'delete';
  path: string;
  parameters: Record<string, string>;
  outputFormat: 'text' | 'json' | 'json-pretty';
  socket: string | null;
}

export class UsageError extends Error {}

const verbs = new Set(['ls', 'get', 'create', 'set', 'delete']);
const formats = new Set(['text', 'json', 'json-pretty']);

export const usage = `usage: pve-domains <ls|get|create|set|delete> PATH [--PARAMETER VALUE ...] [--output-format text|json|json-pretty] [--socket PATH]

examples:
  pve-domains create /domains --domain example.com --acme-directory https://acme-v02.api.letsencrypt.org/directory \\
      --acme-email admin@example.com --cloudflare-token-file /root/cf-token
  pve-domains create /services --subdomain app --domain example.com --vmid 101 --port 8080
  pve-domains get /services
  pve-domains delete /services/app.example.com`;

/** Parses argv (without node and script). Parameters are `--name value` or `--name=value`. */
export function parseArguments(argv: string[]): CliCommand {
  const [verb, path, ...rest] = argv;
  if (verb === undefined || !verbs.has(verb)) throw new UsageError(`unknown command "${verb ?? ''}"; expected one of ls, get, create, set, delete`);
  if (path === undefined || !path.startsWith('/')) throw new UsageError(`missing API path after "${verb}", e.g. /services`);
  const parameters: Record<string, string> = {};
  let outputFormat: CliCommand['outputFormat'] = 'text';
  let socket: string | null = null;
  for (let index = 0; index < rest.length; index++) {
    const argument = rest[index] as string;
    if (!argument.startsWith('--') || argument.length === 2) throw new UsageError(`unexpected argument "${argument}"; parameters are written --name value`);
    const equals = argument.indexOf('=');
    let name: string;
    let value: string | undefined;
    if (equals !== -1) {
      name = argument.slice(2, equals);
      value = argument.slice(equals + 1);
    } else {
      name = argument.slice(2);
      value = rest[index + 1];
      // A following option is not a value: `--subdomain --domain x` lacks the subdomain.
      if (value !== undefined && value.startsWith('--')) value = undefined;
      else index++;
    }
    if (value === undefined) throw new UsageError(`parameter --${name} needs a value`);
    if (name === 'output-format') {
      if (!formats.has(value)) throw new UsageError(`--output-format must be text, json or json-pretty, not "${value}"`);
      outputFormat = value as CliCommand['outputFormat'];
    } else if (name === 'socket') {
      socket = value;
    } else {
      if (name in parameters) throw new UsageError(`parameter --${name} is given twice`);
      parameters[name] = value;
    }
  }
  return { verb: verb as CliCommand['verb'], path, parameters, outputFormat, socket };
}
