/**
 * The man page pve-domains(1) and the bash completion of `pve-domains`, generated from the
 * OpenAPI document of a daemon API built in this process, so both list exactly the paths and
 * parameters the daemon validates. `npm run package` calls this; on its own:
 *
 *   tsx scripts/cli-docs.ts --out DIR [--version VERSION] [--date YYYY-MM-DD]
 *
 * writes DIR/pve-domains.1 and DIR/pve-domains.bash.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';

import type { OpenApiDocument } from '../daemon/src/api/openapi.js';
import { buildApi } from '../daemon/src/api/server.js';
import { AuditLog } from '../daemon/src/auth/audit-log.js';
import { apiVerbs, cliParameters, methodOfVerb, operationOf, verbsOf, type Verb } from '../daemon/src/cli/api-schema.js';
import { globalOptionNames } from '../daemon/src/cli/arguments.js';
import { commands, environment, examples, exitStatuses, globalOptions, parameterRules, synopsis, type HelpEntry } from '../daemon/src/cli/help.js';
import { outputFormats } from '../daemon/src/cli/output.js';
import { completionValues, typeLabel, typeNotes } from '../daemon/src/cli/parameter-types.js';
import { usageLine, verbParameters } from '../daemon/src/cli/usage.js';
import { SecretStore } from '../daemon/src/store/secret-store.js';
import { StateStore } from '../daemon/src/store/state-store.js';

/** Builds the daemon's API on empty state in a scratch folder and returns its GET /schema document. */
export async function apiSchemaInProcess(): Promise<OpenApiDocument> {
  const dir = await mkdtemp(join(tmpdir(), 'pve-domains-docs-'));
  try {
    const state = await StateStore.open(join(dir, 'state'));
    const context = { state, secrets: new SecretStore(join(dir, 'secrets')), enqueue: () => undefined, logger: pino({ level: 'silent' }) };
    // The audit log enables GET /audit, which the daemon always serves.
    const app = await buildApi(context, { audit: new AuditLog(join(dir, 'audit.log')) });
    try {
      const answer = await app.inject({ method: 'GET', url: '/api2/json/schema' });
      if (answer.statusCode !== 200) throw new Error(`GET /api2/json/schema returned HTTP ${answer.statusCode}: ${answer.body}`);
      return (JSON.parse(answer.body) as { data: OpenApiDocument }).data;
    } finally {
      await app.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Escapes text for roff: backslashes, dashes, and a control character at the start of a line. */
export function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function tagged(list: readonly HelpEntry[]): string[] {
  return list.flatMap((entry) => ['.TP', `.B ${roff(entry.term)}`, roff(entry.text)]);
}

/** Lists the commands of a template for the man page, with `ls` only where no `get` reads the path. */
function documentedVerbs(document: OpenApiDocument, template: string): Verb[] {
  const verbs = verbsOf(document, template);
  return verbs.filter((verb) => verb !== 'ls' || !verbs.includes('get'));
}

function apiPathSections(document: OpenApiDocument): string[] {
  const lines: string[] = [];
  for (const template of Object.keys(document.paths).sort()) {
    lines.push(`.SS ${roff(template)}`);
    for (const verb of documentedVerbs(document, template)) {
      lines.push('.TP', `.B ${roff(usageLine(document, template, verb))}`);
      const operation = verb === 'ls' ? undefined : operationOf(document, template, methodOfVerb[verb]);
      const about = [operation?.summary, operation?.description].filter((text): text is string => text !== undefined).join(' ');
      if (about !== '') lines.push(roff(about));
      if (operation !== undefined) lines.push('.br', roff(`Privileges: ${operation['x-privileges'].description}`));
      const parameters = verbParameters(document, template, verb);
      if (parameters.length === 0) continue;
      lines.push('.RS');
      for (const parameter of parameters) {
        const head = [`--${parameter.name}`, typeLabel(parameter.schema), ...typeNotes(parameter.name, parameter.schema)].join(' ');
        lines.push('.TP', `.B ${roff(head)}`, roff(`${parameter.required ? 'Required. ' : ''}${parameter.schema.description ?? ''}`));
      }
      lines.push('.RE');
    }
  }
  return lines;
}

/** Renders pve-domains(1). `date` is YYYY-MM-DD (the changelog's date keeps builds reproducible). */
export function renderManPage(document: OpenApiDocument, version: string, date: string): string {
  return [
    `.TH PVE-DOMAINS 1 "${date}" "pve-external-domains ${version}" "User Commands"`,
    '.SH NAME',
    'pve-domains \\- manage the domains and exposed services of pve-external-domains',
    '.SH SYNOPSIS',
    '.nf',
    ...synopsis.map(roff),
    '.fi',
    '.SH DESCRIPTION',
    '.B pve-domains',
    'calls the API of',
    '.BR pve-domainsd (8)',
    'in the style of',
    '.BR pvesh (1):',
    'the first argument is the command, the second an API path such as',
    '.IR /services ,',
    'and each',
    '.BI \\-\\- NAME " VALUE"',
    "pair a parameter. As root on a node it uses the daemon's root-only unix socket; elsewhere",
    '.B \\-\\-host',
    "with a PVE API token. The paths, parameters and privileges below are generated from the daemon's API schema",
    '.RI ( "pve-domains get /schema" ),',
    'which the CLI also reads at run time to check parameters before it sends them.',
    '.SH COMMANDS',
    ...tagged(commands),
    '.SH OPTIONS',
    ...tagged(globalOptions),
    '.SH PARAMETERS',
    ...parameterRules.flatMap((rule) => ['.PP', roff(rule)]),
    '.SH API PATHS',
    ...apiPathSections(document),
    '.SH ENVIRONMENT',
    ...tagged(environment),
    '.SH FILES',
    '.TP',
    '.I /run/pve\\-domains/api.sock',
    "The daemon's root-only API socket (api.socket in the settings file).",
    '.TP',
    '.I /etc/pve/pve\\-root\\-ca.pem',
    'The cluster CA, used to verify the HTTPS API when',
    '.B \\-\\-ca',
    'is not given.',
    '.SH EXIT STATUS',
    ...tagged(exitStatuses),
    '.SH EXAMPLES',
    '.nf',
    ...examples.map(roff),
    '.fi',
    '.SH SEE ALSO',
    '.BR pve-domainsd (8),',
    '.BR pvesh (1),',
    '.BR pveum (1)',
    '',
  ].join('\n');
}

/** Quotes a word list for a single-quoted bash string; the words come from the schema. */
function shellWords(words: Iterable<string>): string {
  const list = [...new Set(words)].sort();
  for (const word of list) if (/['\s]/.test(word)) throw new Error(`cannot put "${word}" into the bash completion: it contains a quote or a space`);
  return list.join(' ');
}

/** Renders the bash completion script for pve-domains. */
export function renderBashCompletion(document: OpenApiDocument): string {
  const templates = Object.keys(document.paths).sort();
  const globals = globalOptionNames.map((name) => `--${name}`);
  const optionCases: string[] = [];
  const values = new Map<string, Set<string>>([['--output-format', new Set(outputFormats)], ['--command', new Set(apiVerbs)], ['--noborder', new Set(['0', '1'])], ['--noheader', new Set(['0', '1'])]]);
  const fixedPaths = new Set<string>(['/']);

  for (const template of templates) {
    const fixed = template.split('/').findIndex((segment) => segment.startsWith('{'));
    fixedPaths.add(fixed === -1 ? template : template.split('/').slice(0, fixed).join('/') || '/');
    for (const verb of verbsOf(document, template)) {
      const operation = verb === 'ls' ? undefined : operationOf(document, template, methodOfVerb[verb]);
      const parameters = operation === undefined ? [] : cliParameters(operation);
      const names = parameters.flatMap((parameter) => (parameter.secret ? [`--${parameter.name}`, `--${parameter.name}-file`] : [`--${parameter.name}`]));
      optionCases.push(`        '${verb} ${template}') words='${shellWords(names)}' ;;`);
      for (const parameter of parameters) {
        const choices = completionValues(parameter.schema);
        if (choices.length > 0) values.set(`--${parameter.name}`, new Set([...(values.get(`--${parameter.name}`) ?? []), ...choices]));
      }
    }
  }
  const valueCases = [...values.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, choices]) => `        ${name}) words='${shellWords(choices)}' ;;`);

  return `# bash completion for pve-domains; generated from the daemon's API schema by scripts/cli-docs.ts

_pve_domains_templates='${shellWords(templates)}'
_pve_domains_fixed_paths='${shellWords(fixedPaths)}'

# Prints the template a concrete path matches (a fixed segment beats a {parameter}).
_pve_domains_template() {
    local path=$1 template best='' best_fixed=-1 fixed ok i
    local -a want parts
    IFS='/' read -ra want <<< "\${path#/}"
    for template in $_pve_domains_templates; do
        IFS='/' read -ra parts <<< "\${template#/}"
        [[ \${#parts[@]} -eq \${#want[@]} ]] || continue
        fixed=0
        ok=1
        for i in "\${!parts[@]}"; do
            if [[ \${parts[i]} == "{"*"}" ]]; then
                continue
            elif [[ \${parts[i]} == "\${want[i]}" ]]; then
                fixed=$((fixed + 1))
            else
                ok=0
                break
            fi
        done
        if ((ok && fixed > best_fixed)); then
            best=$template
            best_fixed=$fixed
        fi
    done
    printf '%s' "$best"
}

# Prints the options of a command at a template.
_pve_domains_options() {
    local words=''
    case "$1 $2" in
${optionCases.join('\n')}
    esac
    printf '%s' "$words"
}

# Prints the values an option takes, when they are a fixed set.
_pve_domains_values() {
    local words=''
    case $1 in
${valueCases.join('\n')}
    esac
    printf '%s' "$words"
}

# Prints path candidates: the entries the daemon lists below the current folder, else the fixed paths.
_pve_domains_paths() {
    local cur=$1 parent name entries
    parent=\${cur%/*}/
    entries=$(command pve-domains ls "$parent" --noborder --noheader 2>/dev/null) || entries=''
    if [[ -z $entries ]]; then
        printf '%s\\n' $_pve_domains_fixed_paths
        return
    fi
    while read -r _ name; do
        [[ -n $name ]] && printf '%s\\n' "$parent$name"
    done <<< "$entries"
}

_pve_domains() {
    local cur=\${COMP_WORDS[COMP_CWORD]}
    local prev=\${COMP_WORDS[COMP_CWORD-1]}
    local command=\${COMP_WORDS[1]}
    local words template
    case $prev in
        --socket | --token-file | --ca | --*-file)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
    esac
    if [[ $prev == --* ]] && ((COMP_CWORD > 2)); then
        words=$(_pve_domains_values "$prev")
        if [[ -n $words ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
            return
        fi
    fi
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W '${shellWords([...apiVerbs, 'usage', 'diagnose', 'renew', 'status', 'help'])}' -- "$cur")
        return
    fi
    if ((COMP_CWORD == 2)); then
        case $command in
            ls | get | create | set | delete | usage)
                mapfile -t COMPREPLY < <(compgen -W "$(_pve_domains_paths "$cur")" -- "$cur")
                ;;
        esac
        return
    fi
    case $command in
        ls | get | create | set | delete)
            template=$(_pve_domains_template "\${COMP_WORDS[2]}")
            words="$(_pve_domains_options "$command" "$template") ${globals.join(' ')}"
            ;;
        usage) words='--verbose --command --socket --host --token-file --ca' ;;
        *) words='${globals.join(' ')}' ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _pve_domains pve-domains
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, version: { type: 'string' }, date: { type: 'string' } } });
  if (values.out === undefined) throw new Error('usage: tsx scripts/cli-docs.ts --out DIR [--version VERSION] [--date YYYY-MM-DD]');
  const manifest = JSON.parse(await readFile(resolve(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const document = await apiSchemaInProcess();
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'pve-domains.1'), renderManPage(document, values.version ?? manifest.version, values.date ?? new Date().toISOString().slice(0, 10)));
  await writeFile(join(out, 'pve-domains.bash'), renderBashCompletion(document));
  console.log(`wrote ${join(out, 'pve-domains.1')} and ${join(out, 'pve-domains.bash')} (${Object.keys(document.paths).length} API paths)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((err: unknown) => {
    console.error(`cli-docs: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
