import type { OpenApiDocument } from '../api/openapi.js';
import { cliParameters, matchPath, methodOfVerb, operationOf, verbsOf, type CliParameter, type Verb } from './api-schema.js';
import { UsageError } from './errors.js';
import { typeLabel, typeNotes } from './parameter-types.js';

/** `pve-domains usage PATH`: the parameters of each method of a path, from the daemon's schema. */

/** Wraps `text` at `width` columns, each line starting with `indent`. */
export function wrapText(text: string, indent: string, width = 80): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((item) => item !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(`${indent}${line}`);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(`${indent}${line}`);
  return lines;
}

/** The parameters `verb` takes at `template` (none for ls, whose GET takes no options here). */
export function verbParameters(document: OpenApiDocument, template: string, verb: Verb): CliParameter[] {
  if (verb === 'ls') return [];
  const operation = operationOf(document, template, methodOfVerb[verb]);
  return operation === undefined ? [] : cliParameters(operation);
}

/** `pve-domains create /domains --domain <string> ... [OPTIONS]`: required parameters, then [OPTIONS]. */
export function usageLine(document: OpenApiDocument, template: string, verb: Verb): string {
  const parameters = verbParameters(document, template, verb);
  const required = parameters.filter((parameter) => parameter.required).map((parameter) => `--${parameter.name} ${typeLabel(parameter.schema)}`);
  const optional = parameters.some((parameter) => !parameter.required) ? ['[OPTIONS]'] : [];
  return ['pve-domains', verb, template, ...required, ...optional].join(' ');
}

/** One parameter in verbose usage: name, type and notes, then the wrapped description. */
export function parameterBlock(parameter: CliParameter): string[] {
  const head = [`  --${parameter.name}`, typeLabel(parameter.schema), ...typeNotes(parameter.name, parameter.schema)].join(' ');
  const description = parameter.schema.description ?? (parameter.schema.items?.description ? `Each: ${parameter.schema.items.description}` : '');
  return [head, ...wrapText(description, '        ')];
}

function verboseBlock(document: OpenApiDocument, template: string, verb: Verb): string[] {
  const lines = [`USAGE: ${usageLine(document, template, verb)}`, ''];
  if (verb === 'ls') {
    lines.push(...wrapText('Lists the entries below the path, with pvesh\'s flags: D has entries below it, r get, w set, c create, d delete.', '  '));
    return lines;
  }
  const operation = operationOf(document, template, methodOfVerb[verb]);
  if (operation === undefined) return lines;
  const about = [operation.summary, operation.description].filter((text): text is string => text !== undefined).join(' ');
  if (about !== '') lines.push(...wrapText(about, '  '), '');
  for (const parameter of verbParameters(document, template, verb)) lines.push(...parameterBlock(parameter), '');
  lines.push(...wrapText(`Privileges: ${operation['x-privileges'].description}`, '  '));
  return lines;
}

export interface UsageOptions {
  verbose: boolean;
  /** Only this command; all of the path's commands but ls when undefined. */
  command: Verb | undefined;
}

/** Usage of every command of `path` (a concrete path or a template with `{name}`). */
export function usageText(document: OpenApiDocument, path: string, options: UsageOptions): string {
  const match = matchPath(document, path);
  if (match === undefined) throw new UsageError(`no API path matches ${path}; list the paths with pve-domains ls /`);
  const available = verbsOf(document, match.template);
  let verbs: Verb[];
  if (options.command !== undefined) {
    if (!available.includes(options.command)) {
      throw new UsageError(`${match.template} has no ${options.command} command; its commands are ${available.join(', ')}`);
    }
    verbs = [options.command];
  } else {
    verbs = available.filter((verb) => verb !== 'ls');
    if (verbs.length === 0) verbs = available;
  }
  if (!options.verbose) return verbs.map((verb) => `USAGE: ${usageLine(document, match.template, verb)}`).join('\n');
  return verbs.map((verb) => verboseBlock(document, match.template, verb).join('\n')).join('\n\n');
}
