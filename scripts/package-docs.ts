/**
 * The man page and the bash completion of `pve-domains`, generated from the usage text that the
 * CLI prints for `--help`, so both follow the CLI when its commands change.
 */

/** Verbs, paths, parameters and examples found in the usage text. */
export interface UsageSummary {
  synopsis: string;
  verbs: string[];
  outputFormats: string[];
  /** API paths and parameter names found in the examples. */
  paths: string[];
  parameters: string[];
  examples: string[];
}

/** Parses the `pve-domains --help` output: `usage: ...` line, then an `examples:` block. */
export function parseUsage(text: string): UsageSummary {
  const lines = text.split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith('usage: ')) throw new Error(`the CLI's usage text does not start with "usage: ": ${first}`);
  const synopsis = first.slice('usage: '.length).trim();

  const verbs = /<([a-z|-]+)>/.exec(synopsis)?.[1]?.split('|') ?? [];
  const outputFormats = /--output-format ([a-z|-]+)/.exec(synopsis)?.[1]?.split('|') ?? [];
  if (verbs.length === 0) throw new Error(`no <verb|...> list found in the CLI's synopsis: ${synopsis}`);

  const start = lines.findIndex((line) => line.trim() === 'examples:');
  const examples = start === -1 ? [] : lines.slice(start + 1).filter((line) => line.trim() !== '');
  const joined = examples.join(' ');
  const afterVerb = new RegExp(`\\b(?:${verbs.join('|')})\\s+(/[a-z][a-z-]*)`, 'g');
  const paths = [...new Set([...joined.matchAll(afterVerb)].map((match) => match[1] as string))].sort();
  const parameters = [...new Set([...joined.matchAll(/\s(--[a-z][a-z-]*)/g)].map((match) => match[1] as string))].sort();
  return { synopsis, verbs, outputFormats, paths, parameters, examples };
}

/** Escapes text for a roff line: backslashes, dashes, and a leading control character. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** Renders pve-domains(1). `date` is YYYY-MM-DD (the changelog date keeps builds reproducible). */
export function renderManPage(usage: UsageSummary, version: string, date: string): string {
  return [
    `.TH PVE-DOMAINS 1 "${date}" "pve-external-domains ${version}" "User Commands"`,
    '.SH NAME',
    'pve-domains \\- manage the domains and exposed services of pve-external-domains',
    '.SH SYNOPSIS',
    '.nf',
    roff(usage.synopsis),
    '.fi',
    '.SH DESCRIPTION',
    '.B pve-domains',
    'calls the API of',
    '.BR pve-domainsd (8)',
    'over its root-only unix socket, in the style of',
    '.BR pvesh (1):',
    'the first argument is the method',
    `(${usage.verbs.join(', ')}),`,
    'the second the API path, and each',
    '.BI \\-\\- NAME " VALUE"',
    'pair a parameter.',
    'A parameter whose name ends in',
    '.B \\-file',
    'is read from that file (its first line), so that secrets stay off the command line.',
    '.TP',
    '.BI \\-\\-output\\-format " FORMAT"',
    `Print the API's data as ${usage.outputFormats.join(', ')}.`,
    '.TP',
    '.BI \\-\\-socket " PATH"',
    'Connect to this socket instead of the one in the daemon\'s settings.',
    '.SH EXAMPLES',
    '.nf',
    ...usage.examples.map((line) => roff(line)),
    '.fi',
    '.SH ENVIRONMENT',
    '.TP',
    '.B PVE_DOMAINS_SOCKET',
    'API socket used when',
    '.B \\-\\-socket',
    'is not given.',
    '.TP',
    '.B PVE_DOMAINS_CONFIG',
    'Settings file of the daemon, read for the socket path (default',
    '.IR /etc/pve\\-domains/pve\\-domainsd.json ).',
    '.SH EXIT STATUS',
    '0 on success, 1 when the daemon cannot be reached or rejects the request, 2 for a usage error.',
    '.SH SEE ALSO',
    '.BR pve-domainsd (8)',
    '',
  ].join('\n');
}

function words(list: readonly string[]): string {
  return list.join(' ');
}

/** Renders the bash completion script for pve-domains. */
export function renderBashCompletion(usage: UsageSummary): string {
  const options = [...new Set([...usage.parameters, '--output-format', '--socket'])].sort();
  return `# bash completion for pve-domains; generated from "pve-domains --help" by scripts/package-docs.ts
_pve_domains() {
    local cur=\${COMP_WORDS[COMP_CWORD]}
    local prev=\${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --output-format)
            mapfile -t COMPREPLY < <(compgen -W '${words(usage.outputFormats)}' -- "$cur")
            return
            ;;
        --socket | --*-file)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
    esac
    case $COMP_CWORD in
        1) mapfile -t COMPREPLY < <(compgen -W '${words([...usage.verbs, 'help'])}' -- "$cur") ;;
        2) mapfile -t COMPREPLY < <(compgen -W '${words(usage.paths)}' -- "$cur") ;;
        *) mapfile -t COMPREPLY < <(compgen -W '${words(options)}' -- "$cur") ;;
    esac
}
complete -F _pve_domains pve-domains
`;
}
