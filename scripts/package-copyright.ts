import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { BundledPackage } from './package-bundle.js';

/**
 * Debian short names (DEP-5) for the SPDX identifiers used by the bundled packages. An unlisted
 * licence stops the build, so no bundled code ships under a licence that was not reviewed.
 */
const DEBIAN_LICENSE_NAMES: Record<string, string> = {
  MIT: 'Expat',
  ISC: 'ISC',
  '0BSD': '0BSD',
  'BSD-2-Clause': 'BSD-2-clause',
  'BSD-3-Clause': 'BSD-3-clause',
  'Apache-2.0': 'Apache-2.0',
  'GPL-2.0': 'GPL-2',
  'GPL-3.0': 'GPL-3',
  'GPL-3.0-only': 'GPL-3',
  'GPL-3.0-or-later': 'GPL-3+',
};

/** Licences whose full text Debian ships in /usr/share/common-licenses (base-files). */
const COMMON_LICENSES: Record<string, string> = {
  'Apache-2.0': 'Apache-2.0',
  'GPL-2': 'GPL-2',
  'GPL-3': 'GPL-3',
  'GPL-3+': 'GPL-3',
};

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;
const COPYRIGHT_LINE = /^\s*(copyright\b|\(c\))/i;

/** Converts an SPDX expression such as `(BSD-3-Clause OR GPL-2.0)` to DEP-5 syntax. */
export function debianLicenseName(spdx: string, packageName: string): string {
  const terms = spdx.replace(/^\(|\)$/g, '').split(/\s+OR\s+/);
  return terms
    .map((term) => {
      const name = DEBIAN_LICENSE_NAMES[term.trim()];
      if (name === undefined) {
        throw new Error(`${packageName} is licensed under "${spdx}", which scripts/package-copyright.ts does not know; check that licence and add it there`);
      }
      return name;
    })
    .join(' or ');
}

/** Indents text as a DEP-5 field continuation: one leading space, "." for blank lines. */
function continuation(text: string): string {
  return text
    .replace(/\t/g, '    ')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim()
    .split('\n')
    .map((line) => (line === '' ? ' .' : ` ${line}`))
    .join('\n');
}

const GPL_HEADING = /^\s*GNU (LESSER |AFFERO )?GENERAL PUBLIC LICENSE\s*$/;

/**
 * Cuts a full GPL text appended to a dual-licence file (node-forge: BSD-3-Clause or GPL-2.0);
 * Debian policy wants a reference to /usr/share/common-licenses instead of another copy.
 */
function withoutFullGpl(text: string): string {
  const lines = text.split('\n');
  const heading = lines.findIndex((line) => GPL_HEADING.test(line));
  if (heading === -1) return text;
  const kept = lines.slice(0, heading);
  while (kept.length > 0 && /^[\s-]*$/.test(kept[kept.length - 1] ?? '')) kept.pop();
  return `${kept.join('\n')}\n\nOn Debian systems the full text of the GNU General Public License is in /usr/share/common-licenses/.`;
}

async function readLicenseFile(dir: string): Promise<string | null> {
  const names = (await readdir(dir)).filter((name) => LICENSE_FILE.test(name)).sort();
  const first = names[0];
  return first === undefined ? null : withoutFullGpl(await readFile(join(dir, first), 'utf8'));
}

/** A bundled package with the licence text found in its folder. */
interface LicensedPackage {
  bundled: BundledPackage;
  license: string;
  /** Text of its LICENSE or COPYING file; null when it ships none (its README may name holders). */
  text: string | null;
  holders: string[];
}

async function readPackageLicense(bundled: BundledPackage): Promise<LicensedPackage> {
  const license = debianLicenseName(bundled.license, bundled.name);
  const text = await readLicenseFile(bundled.dir);
  let source = text;
  if (source === null) {
    const readme = (await readdir(bundled.dir)).find((name) => /^readme(\.md)?$/i.test(name));
    source = readme === undefined ? '' : await readFile(join(bundled.dir, readme), 'utf8');
  }
  const holders = source.split('\n').filter((line) => COPYRIGHT_LINE.test(line)).map((line) => line.trim());
  if (holders.length === 0) holders.push(bundled.author ?? `the authors of ${bundled.name}`);
  return { bundled, license, text, holders };
}

function packageParagraph(entry: LicensedPackage): string {
  const { bundled, license, text } = entry;
  const lines = [
    `Files: node_modules/${bundled.name}/*`,
    `Copyright: ${entry.holders.join('\n ')}`,
    `Comment: npm package ${bundled.name} ${bundled.version}, bundled into the .mjs files in /usr/lib/pve-external-domains/`,
  ];
  const commonFile = COMMON_LICENSES[license];
  if (commonFile !== undefined) {
    lines.push(`License: ${license}`, ` On Debian systems the full text is in /usr/share/common-licenses/${commonFile}.`);
  } else if (text !== null) {
    lines.push(`License: ${license}\n${continuation(text)}`);
  } else {
    // The text comes from a standalone License paragraph at the end of the file.
    lines.push(`License: ${license}`);
  }
  return lines.join('\n');
}

/**
 * Builds a standalone License paragraph for packages that ship no licence file, from the file of
 * another bundled package under the same licence with its copyright and title lines removed.
 */
function standaloneParagraph(license: string, entries: readonly LicensedPackage[]): string {
  const donor = entries.find((entry) => entry.license === license && entry.text !== null);
  if (donor?.text == null) {
    const names = entries.filter((entry) => entry.license === license).map((entry) => entry.bundled.name);
    throw new Error(`${names.join(', ')} ship no licence file and no other bundled ${license} package has one; add the text to scripts/package-copyright.ts`);
  }
  const body = donor.text
    .split('\n')
    .filter((line) => !COPYRIGHT_LINE.test(line) && !/^\s*(the )?mit licen[cs]e( \(mit\))?\s*$/i.test(line))
    .join('\n');
  return `License: ${license}\n${continuation(body)}`;
}

/** Renders debian/copyright (DEP-5): this project under AGPL-3+ and every bundled npm package. */
export async function renderCopyright(packages: readonly BundledPackage[]): Promise<string> {
  const header = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: pve-external-domains',
    'Comment: The daemon and the CLI are each one JavaScript file built with esbuild from this',
    ' project and the npm packages listed below under node_modules/.',
  ].join('\n');
  const own = [
    'Files: *',
    'Copyright: the pve-external-domains authors',
    'License: AGPL-3+',
    ' This program is free software under the terms of the GNU Affero General Public License,',
    ' version 3 or (at your option) any later version, as published by the Free Software',
    ' Foundation. It comes with no warranty.',
    ' .',
    ' Debian does not ship this licence in /usr/share/common-licenses; its text is at',
    ' https://www.gnu.org/licenses/agpl-3.0.txt',
  ].join('\n');
  const entries: LicensedPackage[] = [];
  for (const bundled of packages) entries.push(await readPackageLicense(bundled));
  const paragraphs = [header, own, ...entries.map(packageParagraph)];
  const withoutText = new Set(entries.filter((entry) => entry.text === null && COMMON_LICENSES[entry.license] === undefined).map((entry) => entry.license));
  for (const license of [...withoutText].sort()) paragraphs.push(standaloneParagraph(license, entries));
  return `${paragraphs.join('\n\n')}\n`;
}
