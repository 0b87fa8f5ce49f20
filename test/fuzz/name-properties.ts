import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEmail } from '../../daemon/src/api/validation.js';
import { parseRegisteredDomain } from '../../daemon/src/domains/names.js';
import { AppError } from '../../daemon/src/errors.js';
import { fileKey, normaliseHostname, ownershipComment } from '../../daemon/src/names.js';
import { isHostname } from '../../daemon/src/proxy/validation.js';
import { anyString, asciiLabel, hostileString, ldhLabel, nameLike, unicodeLabel } from './arbitraries.js';
import { checkProperty } from './budget.js';

/** Asserts that `name` is in the canonical form every module stores and compares. */
function assertCanonical(name: string): void {
  assert.ok(isHostname(name), `${JSON.stringify(name)} is not a host name the proxy accepts`);
  assert.equal(name, name.toLowerCase());
  assert.ok(name.length <= 253, `${name} is longer than 253 characters`);
  assert.ok(!name.endsWith('.'), `${name} keeps its trailing dot`);
}

function assertRejection(err: unknown): void {
  assert.ok(err instanceof AppError, `threw ${String(err)} instead of an AppError`);
  assert.equal(err.status, 400);
}

/** Mixes the case of `text` after a bit mask. */
function mixCase(text: string, mask: number): string {
  return [...text].map((char, index) => ((mask >> index % 31) & 1 ? char.toUpperCase() : char)).join('');
}

export function registerNameProperties(): void {
  describe('name normalisation', () => {
    it('any input gives a canonical name or a reason', async () => {
      await checkProperty(
        'names: any input',
        fc.tuple(nameLike, fc.stringMatching(/^[a-z0-9-]{1,63}$/)),
        ([input, cluster]) => {
          const result = normaliseHostname(input);
          if (!result.ok) {
            assert.equal(typeof result.reason, 'string');
            assert.notEqual(result.reason, '');
            return;
          }
          assertCanonical(result.name);
          assert.deepEqual(normaliseHostname(result.name), result);
          assert.doesNotThrow(() => fileKey(result.name));
          assert.ok(ownershipComment(cluster, 'service', result.name).length <= 100);
          assert.ok(ownershipComment(cluster, 'acme', result.name).length <= 100);
        },
        1500,
      );
    });

    it('ignores case and a trailing dot', async () => {
      await checkProperty(
        'names: case and trailing dot',
        fc.record({ labels: fc.array(ldhLabel, { minLength: 1, maxLength: 6 }), mask: fc.nat(), dot: fc.boolean(), space: fc.constantFrom('', ' ', '\t') }),
        ({ labels, mask, dot, space }) => {
          const name = labels.join('.');
          const result = normaliseHostname(`${space}${mixCase(name, mask)}${dot ? '.' : ''}${space}`);
          if (name.length > 253) {
            assert.equal(result.ok, false);
            return;
          }
          assert.deepEqual(result, { ok: true, name });
        },
        800,
      );
    });

    it('applies label and length rules', async () => {
      await checkProperty(
        'names: label rules',
        fc.array(asciiLabel, { minLength: 1, maxLength: 6 }),
        (labels) => {
          const name = labels.join('.');
          // One trailing dot is the root label, which the canonical form drops.
          const lower = name.toLowerCase().replace(/\.$/, '');
          const valid = lower.length <= 253 && lower.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
          const result = normaliseHostname(name);
          assert.equal(result.ok, valid, `${JSON.stringify(name)}: expected ${valid ? 'accepted' : 'rejected'}`);
          if (result.ok) assert.equal(result.name, lower);
        },
        800,
      );
    });

    it('round-trips internationalised names', async () => {
      await checkProperty(
        'names: IDN round trip',
        fc.array(fc.oneof(unicodeLabel, ldhLabel), { minLength: 1, maxLength: 4 }),
        (labels) => {
          const input = labels.join('.');
          const result = normaliseHostname(input);
          if (!result.ok) return;
          assertCanonical(result.name);
          let domain;
          try {
            domain = parseRegisteredDomain('domain', input);
          } catch (err) {
            assertRejection(err);
            return;
          }
          // The Unicode form the API shows maps back to the same stored name.
          assert.equal(domain.ascii, result.name);
          assert.equal(parseRegisteredDomain('domain', domain.unicode).ascii, domain.ascii);
        },
        600,
      );
    });

    it('rejects bad domains and e-mails with a 400', async () => {
      await checkProperty(
        'names: domain and e-mail parameters',
        fc.tuple(nameLike, fc.oneof(anyString, fc.emailAddress(), fc.tuple(hostileString, nameLike).map(([local, domain]) => `${local}@${domain}`))),
        ([domain, email]) => {
          try {
            const parsed = parseRegisteredDomain('domain', domain);
            assertCanonical(parsed.ascii);
            assert.ok(parsed.ascii.includes('.'));
          } catch (err) {
            assertRejection(err);
          }
          try {
            const address = parseEmail('acme-email', email);
            assert.doesNotMatch(address, /[\s"\\<>]/);
            assertCanonical(address.slice(address.lastIndexOf('@') + 1));
          } catch (err) {
            assertRejection(err);
          }
        },
        500,
      );
    });
  });
}
