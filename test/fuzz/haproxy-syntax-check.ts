/**
 * A reader of haproxy.cfg lines as HAProxy 2.6 splits them into words: blanks separate words,
 * `#` outside quotes starts a comment, double quotes allow backslash escapes and expand
 * environment variables, single quotes take every character as it is.
 */

export interface ConfigLine {
  words: string[];
  /** What HAProxy would read differently from the intended text: expansions, open quotes. */
  problems: string[];
}

export function splitConfigLine(line: string): ConfigLine {
  const words: string[] = [];
  const problems: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const pushWord = (value: string): void => {
    // HAProxy 2.6 takes an empty word ("") as the end of the arguments, so the rule loses the rest.
    if (value === '') problems.push('an empty quoted word ends the arguments');
    words.push(value);
  };
  for (let index = 0; index < line.length; index++) {
    const char = line[index] as string;
    if (quote === '"') {
      if (char === '\\') {
        const next = line[index + 1];
        if (next === undefined) problems.push('a backslash ends the line');
        current += next ?? '';
        index++;
      } else if (char === '"') {
        quote = null;
      } else {
        if (char === '$') problems.push('an unescaped $ inside double quotes expands an environment variable');
        current += char;
      }
      continue;
    }
    if (quote === "'") {
      if (char === "'") quote = null;
      else current += char;
      continue;
    }
    if (char === ' ' || char === '\t') {
      if (inWord) pushWord(current);
      current = '';
      inWord = false;
      continue;
    }
    if (char === '#') break;
    inWord = true;
    if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '\\') {
      current += line[index + 1] ?? '';
      index++;
    } else {
      current += char;
    }
  }
  if (quote !== null) problems.push('a quote is not closed');
  if (inWord) pushWord(current);
  return { words, problems };
}
