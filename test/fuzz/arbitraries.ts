import fc from 'fast-check';

/**
 * Generators shared by the fuzz properties: host names in valid and hostile shapes, and strings
 * built from the characters that break configuration lines, commands and parsers.
 */

/** Characters that end a line, split a word, start a comment or an expansion, or escape. */
export const breakingCharacters = ['\n', '\r', '\t', ' ', '"', "'", '\\', '#', ';', '%', '$', '{', '}', '[', ']', '\0', '\x7f', '\u2028', '\u00a0', '/', '?', '&', '=', '+', ':', '@', ','];

/** A label that host name rules accept: letters, digits and inner hyphens, 1 to 63 characters. */
export const ldhLabel = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);

/** A label of any ASCII shape: empty, too long, with leading or trailing hyphens or underscores. */
export const asciiLabel = fc.oneof(
  ldhLabel,
  fc.string({ unit: fc.constantFrom(...'abcXYZ019-_'.split('')), minLength: 0, maxLength: 70 }),
  fc.integer({ min: 60, max: 70 }).map((length) => 'a'.repeat(length)),
);

/** Letters of several scripts, with combining marks, for internationalised labels. */
const unicodeLetter = fc.oneof(
  fc.integer({ min: 0xc0, max: 0x24f }),
  fc.integer({ min: 0x391, max: 0x3c9 }),
  fc.integer({ min: 0x410, max: 0x44f }),
  fc.integer({ min: 0x905, max: 0x939 }),
  fc.integer({ min: 0x300, max: 0x36f }),
  fc.integer({ min: 0x4e00, max: 0x4e80 }),
  fc.integer({ min: 0x2460, max: 0x24ff }),
  fc.integer({ min: 0xff10, max: 0xff5a }),
  fc.constantFrom(0xdf, 0x3c2, 0x200c, 0x200d, 0x2488, 0x3002, 0xff0e, 0x131, 0x130, 0x13f, 0xb7, 0x375, 0x5f3, 0x30fb, 0xf0b),
).map((code) => String.fromCodePoint(code));

export const unicodeLabel = fc.string({ unit: fc.oneof(unicodeLetter, fc.constantFrom('a', 'z', '0', '-')), minLength: 1, maxLength: 20 });

/** A string made mostly of breaking characters. */
export const hostileString = fc.string({ unit: fc.oneof(fc.constantFrom(...breakingCharacters), fc.constantFrom('a', 'Z', '0', '.', '-', '_', '*')), maxLength: 40 });

/** Any string: binary code units (lone surrogates included), graphemes, or hostile characters. */
export const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), hostileString);

/** A dotted name of valid, hostile or internationalised labels, sometimes with a trailing dot. */
export const nameLike = fc.oneof(
  fc.tuple(fc.array(fc.oneof(asciiLabel, unicodeLabel), { minLength: 1, maxLength: 6 }), fc.boolean()).map(([labels, dot]) => `${labels.join('.')}${dot ? '.' : ''}`),
  fc.domain(),
  anyString,
);
