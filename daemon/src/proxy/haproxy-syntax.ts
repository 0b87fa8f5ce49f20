/**
 * Encoders for values that go into haproxy.cfg. HAProxy 2.6 and 3.0 read a double-quoted word
 * with backslash escapes and expand `$VAR`/`${VAR}` inside it, so `\`, `"` and `$` are escaped;
 * `#` and `'` are plain characters inside double quotes. Callers pass values already checked to
 * contain no control characters.
 */

/** Quotes `value` as one double-quoted configuration word. */
export function quoteConfigWord(value: string): string {
  if ([...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) throw new Error(`cannot write ${JSON.stringify(value)} into haproxy.cfg: it contains a control character`);
  return `"${value.replace(/[\\"$]/g, (char) => `\\${char}`)}"`;
}

/**
 * Quotes `value` as a log-format string (the value argument of `set-header`), where `%` starts a
 * sample expression; `%%` is a literal percent sign.
 */
export function quoteLogFormat(value: string): string {
  return quoteConfigWord(value.replaceAll('%', '%%'));
}
