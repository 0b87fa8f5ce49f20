import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { AppError, invalidParameter } from '../errors.js';

/** A well-known ACME CA selectable by name instead of its URL. */
export interface DirectoryPreset {
  id: 'letsencrypt' | 'letsencrypt-staging' | 'zerossl';
  title: string;
  url: string;
  /** The CA refuses new accounts without External Account Binding (RFC 8555 section 7.3.4). */
  requiresEab: boolean;
  /** Issuer domain names the CA checks in CAA records (RFC 8659). */
  caaIdentities: string[];
}

/**
 * Directory URLs and CAA identities as the CAs publish them (Let's Encrypt and ZeroSSL
 * documentation, 2026). ZeroSSL issues through Sectigo, whose CAA identity is `sectigo.com`.
 */
export const directoryPresets: readonly DirectoryPreset[] = [
  { id: 'letsencrypt', title: "Let's Encrypt", url: 'https://acme-v02.api.letsencrypt.org/directory', requiresEab: false, caaIdentities: ['letsencrypt.org'] },
  { id: 'letsencrypt-staging', title: "Let's Encrypt Staging", url: 'https://acme-staging-v02.api.letsencrypt.org/directory', requiresEab: false, caaIdentities: ['letsencrypt.org'] },
  { id: 'zerossl', title: 'ZeroSSL', url: 'https://acme.zerossl.com/v2/DV90', requiresEab: true, caaIdentities: ['sectigo.com', 'zerossl.com'] },
];

export const directoryPresetIds = directoryPresets.map((preset) => preset.id);

/** Returns the preset whose URL is `url`, or undefined for a custom directory. */
export function presetOfUrl(url: string): DirectoryPreset | undefined {
  return directoryPresets.find((preset) => preset.url === url);
}

/**
 * Resolves the `acme-directory` parameter: a preset id, or the https URL of any RFC 8555
 * directory. RFC 8555 section 6.1 requires HTTPS for every ACME request, so plain HTTP is rejected.
 */
export function parseDirectory(parameter: string, input: string): string {
  const trimmed = input.trim();
  const preset = directoryPresets.find((item) => item.id === trimmed);
  if (preset !== undefined) return preset.url;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw invalidParameter(parameter, `"${input}" is neither a preset (${directoryPresetIds.join(', ')}) nor a URL; enter a preset or the https URL of the CA's ACME directory`);
  }
  if (url.protocol !== 'https:') throw invalidParameter(parameter, `"${input}" does not use https; ACME directories are served over https only`);
  if (url.username !== '' || url.password !== '') throw invalidParameter(parameter, 'the URL may not contain a user name or password');
  return url.toString();
}

/** The `meta` object of an ACME directory (RFC 8555 section 7.1.1, profiles from draft-ietf-acme-profiles). */
export interface DirectoryMeta {
  externalAccountRequired: boolean;
  caaIdentities: string[];
  /** Profile names with their descriptions; empty when the CA offers none. */
  profiles: Record<string, string>;
  termsOfService: string | null;
}

/** Reads the fields of a directory's `meta` this product uses; unknown or malformed fields are ignored. */
export function readDirectoryMeta(document: unknown): DirectoryMeta {
  const meta = typeof document === 'object' && document !== null ? (document as Record<string, unknown>)['meta'] : undefined;
  const fields = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  const profiles: Record<string, string> = {};
  const listed = fields['profiles'];
  if (typeof listed === 'object' && listed !== null) {
    for (const [name, description] of Object.entries(listed)) profiles[name] = typeof description === 'string' ? description : '';
  }
  const caa = fields['caaIdentities'];
  return {
    externalAccountRequired: fields['externalAccountRequired'] === true,
    caaIdentities: Array.isArray(caa) ? caa.filter((item): item is string => typeof item === 'string') : [],
    profiles,
    termsOfService: typeof fields['termsOfService'] === 'string' ? fields['termsOfService'] : null,
  };
}

const directoryTimeoutMs = 10_000;

/** Fetches an ACME directory document over https, trusting `caFile` in addition to the system roots. */
export async function fetchDirectory(url: string, caFile: string | null): Promise<unknown> {
  const ca = caFile === null ? undefined : [...rootCertificates, await readFile(caFile, 'utf8')];
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, { ca, timeout: directoryTimeoutMs, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${String(res.statusCode)}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${directoryTimeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  }).catch((err: unknown) => {
    throw new AppError('CA_UNREACHABLE', `Unable to read the ACME directory ${url}: ${(err as Error).message}; check the URL and the node's network`, { cause: err });
  });
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new AppError('CA_UNREACHABLE', `The ACME directory ${url} did not return JSON; check that the URL is the directory itself`, { cause: err });
  }
}

/** Checks a requested profile against the directory's list; returns an error message or null. */
export function profileProblem(profile: string, meta: DirectoryMeta, directory: string): string | null {
  const offered = Object.keys(meta.profiles);
  if (offered.length === 0) return `the ACME directory ${directory} offers no profiles; leave acme-profile empty`;
  if (!offered.includes(profile)) return `the ACME directory ${directory} offers the profiles ${offered.join(', ')}, not "${profile}"`;
  return null;
}
