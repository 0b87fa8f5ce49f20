import { isIPv4, isIPv6 } from 'node:net';

/**
 * Input checks for every value that reaches an HAProxy file or a runtime API command.
 *
 * The accepted alphabets contain no space, `;`, `#`, quote, backslash or control character. So a
 * value that passes cannot end a configuration line, start a comment, or split a runtime API
 * command, which HAProxy ends at `;` or a newline.
 */

const MAX_HOSTNAME_LENGTH = 253;
const LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const WILDCARD_PREFIX = '*.';

/** Formats an untrusted value for an error message, with control characters escaped. */
export function quoteValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Returns whether `value` is a lower-case host name: LDH labels of 1 to 63 characters, no trailing dot. */
export function isHostname(value: string): boolean {
  if (value.length === 0 || value.length > MAX_HOSTNAME_LENGTH) return false;
  return value.split('.').every((label) => LABEL_PATTERN.test(label));
}

/** Throws unless `value` is a lower-case host name such as `app.example.com`. */
export function assertHostname(value: string, what = 'host name'): void {
  if (typeof value !== 'string' || !isHostname(value)) {
    throw new Error(
      `invalid ${what} ${quoteValue(value)}: expected a lower-case host name such as app.example.com, without a trailing dot`,
    );
  }
}

/** Throws unless `value` is a certificate id: a host name, or `*.` followed by a host name. */
export function assertCertificateId(value: string): void {
  const ok =
    typeof value === 'string' &&
    (isHostname(value) ||
      (value.startsWith(WILDCARD_PREFIX) && isHostname(value.slice(WILDCARD_PREFIX.length))));
  if (!ok) {
    throw new Error(
      `invalid certificate id ${quoteValue(value)}: expected a lower-case host name or a wildcard such as *.example.com`,
    );
  }
}

/**
 * Throws unless `value` is an IPv4 address in dotted-quad form or an IPv6 address in lower case.
 * IPv6 zone ids (`fe80::1%eth0`) are rejected because `%` has a meaning in HAProxy log-format strings.
 */
export function assertIpAddress(value: string, what = 'address'): void {
  const ok =
    typeof value === 'string' &&
    (isIPv4(value) || (isIPv6(value) && /^[0-9a-f:.]+$/.test(value)));
  if (!ok) {
    throw new Error(`invalid ${what} ${quoteValue(value)}: expected an IPv4 address or a lower-case IPv6 address without a zone id`);
  }
}

/** Throws unless `value` is an integer TCP port in 1..65535. */
export function assertPort(value: number, what = 'port'): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`invalid ${what} ${quoteValue(value)}: expected an integer in 1..65535`);
  }
}

/**
 * Throws unless `value` is an absolute path made of letters, digits and `._/+@-`. Paths are written
 * unquoted into haproxy.cfg, the crt-list and runtime API commands, so nothing else is allowed.
 */
export function assertSafePath(value: string, what: string): void {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._/+@-]*$/.test(value) || value.split('/').includes('..')) {
    throw new Error(
      `invalid ${what} ${quoteValue(value)}: expected an absolute path of letters, digits and ._/+@- without ".." segments`,
    );
  }
}
