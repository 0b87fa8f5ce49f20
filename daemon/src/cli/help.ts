import { defaultApiPort, defaultCaFile, defaultSocket } from './connection.js';
import { exitCodes } from './errors.js';
import { outputFormats } from './output.js';

/**
 * The commands, global options, environment and exit statuses of `pve-domains`: printed by
 * `pve-domains help` and rendered into the man page, which adds the API paths from the schema.
 */

export interface HelpEntry {
  /** Such as `--host HOST[:PORT]` or `diagnose NAME`. */
  term: string;
  text: string;
}

export const synopsis = [
  'pve-domains <ls|get|create|set|delete> PATH [--PARAMETER VALUE ...] [OPTIONS]',
  'pve-domains usage PATH [--verbose] [--command ls|get|create|set|delete]',
  'pve-domains diagnose NAME [OPTIONS]',
  'pve-domains renew NAME [OPTIONS]',
  'pve-domains status [OPTIONS]',
  'pve-domains help [PATH]',
];

export const commands: readonly HelpEntry[] = [
  { term: 'ls PATH', text: "Lists the entries below PATH with pvesh's flags: D has entries below it, r get, w set, c create, d delete." },
  { term: 'get PATH', text: 'Calls GET on PATH and prints the result.' },
  { term: 'create PATH', text: 'Calls POST on PATH with the parameters.' },
  { term: 'set PATH', text: 'Calls PUT on PATH with the parameters; parameters left out keep their value.' },
  { term: 'delete PATH', text: 'Calls DELETE on PATH.' },
  { term: 'usage PATH', text: 'Prints the parameters of each command of PATH; --verbose adds types, defaults, descriptions and privileges, --command picks one command.' },
  { term: 'diagnose NAME', text: 'Runs the checks of a domain or a service name and prints each with its verdict, message and fix. The exit status is 0 only when the verdict is ok.' },
  { term: 'renew NAME', text: 'Starts a renewal of a certificate now. NAME is a certificate id, a service name or a domain with one certificate.' },
  { term: 'status', text: "Prints the daemon's state: node, version, cluster lock holder, quorum, HAProxy and the reconcile queue." },
  { term: 'help [PATH]', text: 'Prints this overview, or with PATH the same as usage PATH --verbose.' },
];

export const globalOptions: readonly HelpEntry[] = [
  { term: `--output-format ${outputFormats.join('|')}`, text: "text prints tables (the default); json and json-pretty print the API's data; yaml the same as YAML." },
  { term: '--noborder', text: 'Text tables without borders.' },
  { term: '--noheader', text: 'Text tables without the column names.' },
  { term: '--socket PATH', text: `Unix socket of the daemon; by default PVE_DOMAINS_SOCKET, then api.socket of the settings file, then ${defaultSocket}. Only root may use it.` },
  { term: '--host HOST[:PORT]', text: `Call the daemon's HTTPS API on HOST (port ${defaultApiPort} by default) with a PVE API token instead of the socket.` },
  { term: '--token-file FILE', text: 'Read the API token (USER@REALM!TOKENID=SECRET) from the first line of FILE, which must be yours and not readable by group or others.' },
  { term: '--ca FILE', text: `CA certificate (PEM) that signs the API's certificate; ${defaultCaFile} when it exists, else the system CAs.` },
];

export const parameterRules: readonly string[] = [
  'Parameters are written --name value or --name=value after the path.',
  'Booleans take 1 or 0; a bare --flag means 1.',
  'A list is given by repeating the option or by separating values with commas; a list of objects takes one JSON object or key=value,key=value list per option.',
  'An object takes JSON or key=value,key=value.',
  'A secret (such as --cloudflare-token) is read from --NAME-file FILE (its first line; /dev/stdin reads a pipe), or prompted for without echo when its option is given without a value on a terminal.',
  'Unknown parameters, missing required ones and wrong types are rejected before anything is sent.',
];

export const environment: readonly HelpEntry[] = [
  { term: 'PVE_DOMAINS_SOCKET', text: 'Unix socket used when --socket and --host are not given.' },
  { term: 'PVE_DOMAINS_CONFIG', text: 'Settings file of the daemon, read for the socket path (default /etc/pve-domains/pve-domainsd.json).' },
  { term: 'PVE_DOMAINS_TOKEN', text: 'API token USER@REALM!TOKENID=SECRET used with --host when --token-file is not given.' },
];

export const exitStatuses: readonly HelpEntry[] = [
  { term: String(exitCodes.ok), text: 'Success.' },
  { term: String(exitCodes.diagnosisNotOk), text: 'diagnose: the verdict is warning or failed.' },
  { term: String(exitCodes.usage), text: 'Usage error: unknown command, path or parameter, or a wrong value; nothing was sent.' },
  { term: String(exitCodes.api), text: "The API rejected the request (HTTP 4xx or 5xx); its message is on stderr in PVE's form." },
  { term: String(exitCodes.connection), text: 'The daemon could not be reached, or its certificate could not be verified.' },
];

export const examples: readonly string[] = [
  'pve-domains create /domains --domain example.com --acme-directory letsencrypt --acme-email admin@example.com --cloudflare-token-file /root/cloudflare-token',
  'pve-domains create /services --subdomain app --domain example.com --vmid 101 --port 8080',
  'pve-domains set /services/app.example.com --hsts-max-age 31536000 --allowed-networks 192.0.2.0/24,2001:db8::/32',
  'pve-domains get /services',
  'pve-domains usage /services --command create --verbose',
  'pve-domains diagnose app.example.com',
  'PVE_DOMAINS_TOKEN=automation@pve!cli=SECRET pve-domains get /certificates --host pve1.example.com',
  'pve-domains delete /services/app.example.com',
];

function entries(list: readonly HelpEntry[]): string[] {
  const width = Math.max(...list.map((entry) => entry.term.length));
  return list.map((entry) => `  ${entry.term.padEnd(width)}  ${entry.text}`);
}

/** The text of `pve-domains help`; starts with `usage: `. */
export function helpText(): string {
  return [
    `usage: ${synopsis[0] as string}`,
    ...synopsis.slice(1).map((line) => `       ${line}`),
    '',
    'commands:',
    ...entries(commands),
    '',
    'options:',
    ...entries(globalOptions),
    '',
    'parameters:',
    ...parameterRules.map((rule) => `  ${rule}`),
    '',
    'exit status:',
    ...entries(exitStatuses),
    '',
    'examples:',
    ...examples.map((line) => `  ${line}`),
  ].join('\n');
}
