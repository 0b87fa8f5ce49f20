/**
 * The list-valued Advanced fields of an HTTP service in the Expose Service window: basic-auth
 * users, request and response headers, additional targets, and the interface or address pin.
 * Each list is a textarea with one entry per line, checked as typed with the daemon's rules
 * (daemon/src/proxy/route-options.ts) and sent only when it differs from the loaded value.
 */
import { child, textValue } from './ext-util.js';

/** Interface drop-down value for no pin, which the request sends as null. */
const automaticInterface = '__auto__';

/** User names the daemon accepts for basic authentication. */
const userNamePattern = /^[A-Za-z0-9._-]{1,64}$/;
/** An HTTP field name: an RFC 9110 token. */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII and spaces, because the daemon rejects tabs, CR and LF in header values. */
const headerValuePattern = /^[\x20-\x7e]+$/;
const ipv4Pattern = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
/** Characters and shape of an IPv6 address. The daemon checks the exact form. */
const ipv6Pattern = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;

/** The API's list limits (daemon/src/api/service-options.ts). */
const maxUsers = 32;
const maxHeaders = 32;
const maxTargets = 15;

/** itemIds of the fields this module adds to the Advanced section. */
export const advancedListFieldIds = ['field-basic-auth', 'field-request-headers', 'field-response-headers', 'field-additional-targets', 'field-interface', 'field-address'] as const;

export interface BasicAuthEntry {
  user: string;
  /** Absent to keep the stored password of an existing user. */
  password?: string;
}

export interface HeaderEntry {
  name: string;
  value: string;
}

export interface TargetEntry {
  vmid: number;
  port: number;
}

/** The parts of `GET /services/{fqdn}` these fields show. */
export interface AdvancedServiceData {
  interface?: string | null;
  address?: string | null;
  /** The first target followed by the additional ones. */
  targets?: TargetEntry[];
  options: {
    'basic-auth'?: Array<{ user: string }>;
    'request-headers'?: HeaderEntry[];
    'response-headers'?: HeaderEntry[];
  };
}

/** The result of parsing a textarea: the entries, or the first error with its line number. */
type Parsed<T> = { entries: T[] } | { error: string };

function nonEmptyLines(text: string): Array<{ line: string; number: number }> {
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter((item) => item.line !== '');
}

function lineError(number: number, message: string): { error: string } {
  return { error: Ext.String.format(gettext('Line {0}: {1}'), number, message) };
}

/**
 * Parses `user:password` lines. A line holding only a user name keeps that user's stored
 * password. The window shows existing users that way because the API never returns hashes.
 */
export function parseBasicAuth(text: string): Parsed<BasicAuthEntry> {
  const entries: BasicAuthEntry[] = [];
  const seen = new Set<string>();
  for (const { line, number } of nonEmptyLines(text)) {
    const colon = line.indexOf(':');
    const user = colon === -1 ? line : line.slice(0, colon);
    if (!userNamePattern.test(user)) return lineError(number, gettext('Invalid user name: use 1 to 64 letters, digits, dots, hyphens or underscores'));
    if (seen.has(user)) return lineError(number, Ext.String.format(gettext('User {0} is listed twice'), user));
    seen.add(user);
    if (colon === -1) {
      entries.push({ user });
      continue;
    }
    const password = line.slice(colon + 1);
    if (password === '' || password.length > 256) return lineError(number, gettext('Invalid password: use 1 to 256 characters, or give only the name to keep the current password'));
    entries.push({ user, password });
  }
  if (entries.length > maxUsers) return { error: Ext.String.format(gettext('At most {0} users'), maxUsers) };
  return { entries };
}

/** Parses `Name: value` lines. */
export function parseHeaders(text: string): Parsed<HeaderEntry> {
  const entries: HeaderEntry[] = [];
  for (const { line, number } of nonEmptyLines(text)) {
    const colon = line.indexOf(':');
    if (colon === -1) return lineError(number, gettext('Missing colon: write the header as Name: value'));
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.length > 128 || !headerNamePattern.test(name)) return lineError(number, gettext("Invalid header name: use letters, digits and !#$%&'*+.^_`|~- only"));
    if (value === '' || value.length > 4096 || !headerValuePattern.test(value)) return lineError(number, gettext('Invalid header value: use 1 to 4096 visible ASCII characters or spaces'));
    entries.push({ name, value });
  }
  if (entries.length > maxHeaders) return { error: Ext.String.format(gettext('At most {0} headers'), maxHeaders) };
  return { entries };
}

/** Parses `vmid:port` lines. */
export function parseTargets(text: string): Parsed<TargetEntry> {
  const entries: TargetEntry[] = [];
  for (const { line, number } of nonEmptyLines(text)) {
    const match = /^([0-9]{3,9})\s*:\s*([0-9]{1,5})$/.exec(line);
    const vmid = Number(match?.[1]);
    const port = Number(match?.[2]);
    if (match === null || vmid < 100 || port < 1 || port > 65535) return lineError(number, gettext('Invalid target: write it as VMID:port, such as 101:8080'));
    entries.push({ vmid, port });
  }
  if (entries.length > maxTargets) return { error: Ext.String.format(gettext('At most {0} additional targets'), maxTargets) };
  return { entries };
}

function validatorOf<T>(parse: (text: string) => Parsed<T>): (text: string) => string | true {
  return (text: string) => {
    const parsed = parse(text);
    return 'error' in parsed ? parsed.error : true;
  };
}

function addressError(text: string): string | true {
  const address = text.trim();
  if (address === '' || ipv4Pattern.test(address) || ipv6Pattern.test(address)) return true;
  return gettext('Enter an IPv4 or IPv6 address, or leave empty for automatic');
}

/** Returns the configs of the basic-auth and header fields. */
export function accessAndHeaderItems(): object[] {
  return [
    {
      xtype: 'textarea',
      name: 'basic-auth',
      itemId: 'field-basic-auth',
      fieldLabel: gettext('Basic Auth Users'),
      emptyText: gettext('off (one user:password per line)'),
      height: 60,
      validator: validatorOf(parseBasicAuth),
    },
    {
      xtype: 'displayfield',
      itemId: 'basic-auth-hint',
      fieldLabel: ' ',
      labelSeparator: '',
      submitValue: false,
      value: `<span class="pmx-hint">${gettext('A user name alone keeps its password unchanged.')}</span>`,
    },
    { xtype: 'textarea', name: 'request-headers', itemId: 'field-request-headers', fieldLabel: gettext('Request Headers'), emptyText: gettext('none (one Name: value per line)'), height: 60, validator: validatorOf(parseHeaders) },
    { xtype: 'textarea', name: 'response-headers', itemId: 'field-response-headers', fieldLabel: gettext('Response Headers'), emptyText: gettext('none (one Name: value per line)'), height: 60, validator: validatorOf(parseHeaders) },
  ];
}

/** Returns the configs of the additional-targets and pin fields, shown above the Balancing drop-down. */
// NOTE: a target line has no interface or address of its own, so saving a changed list drops
// the per-target pins that `pve-domains set` may have stored.
export function targetItems(): object[] {
  const interfaces: Array<[string, string]> = [[automaticInterface, gettext('automatic')]];
  for (let index = 0; index <= 31; index += 1) interfaces.push([`net${index}`, `net${index}`]);
  return [
    { xtype: 'textarea', name: 'additional-targets', itemId: 'field-additional-targets', fieldLabel: gettext('Additional Targets'), emptyText: gettext('none (one VMID:port per line)'), height: 60, validator: validatorOf(parseTargets) },
    { xtype: 'combobox', name: 'interface', itemId: 'field-interface', fieldLabel: gettext('Guest Interface'), editable: false, value: automaticInterface, store: interfaces },
    { xtype: 'textfield', name: 'address', itemId: 'field-address', fieldLabel: gettext('Guest Address'), emptyText: gettext('automatic'), validator: addressError },
  ];
}

/** Enables the list fields for HTTP services and disables them (no validation) for TCP and UDP. */
export function enableAdvancedListFields(win: Ext.container.IContainer, enabled: boolean): void {
  for (const itemId of advancedListFieldIds) child<Required<Ext.form.field.IBase>>(win, itemId).setDisabled(!enabled);
}

/** Returns the form values of a loaded service; existing users show without password. */
export function advancedListFormValues(service: AdvancedServiceData): Record<string, string> {
  const headerLines = (headers: HeaderEntry[] | undefined): string => (headers ?? []).map((header) => `${header.name}: ${header.value}`).join('\n');
  return {
    'basic-auth': (service.options['basic-auth'] ?? []).map((entry) => entry.user).join('\n'),
    'request-headers': headerLines(service.options['request-headers']),
    'response-headers': headerLines(service.options['response-headers']),
    // NOTE: the API lists targets as last resolved, the first one being the service's own port.
    'additional-targets': (service.targets ?? [])
      .slice(1)
      .map((target) => `${target.vmid}:${target.port}`)
      .join('\n'),
    interface: service.interface ?? automaticInterface,
    address: service.address ?? '',
  };
}

function isDirty(win: Ext.container.IContainer, itemId: string): boolean {
  return child<Required<Ext.form.field.IBase>>(win, itemId).isDirty();
}

function entriesOf<T>(parsed: Parsed<T>): T[] {
  return 'error' in parsed ? [] : parsed.entries;
}

/**
 * Returns the request fields of the list fields whose value differs from the loaded one (for
 * Add: from empty), so an edit leaves untouched lists, such as per-target pins, as stored.
 */
export function advancedListRequest(win: Ext.container.IContainer, values: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (isDirty(win, 'field-basic-auth')) body['basic-auth'] = entriesOf(parseBasicAuth(textValue(values['basic-auth'])));
  if (isDirty(win, 'field-request-headers')) body['request-headers'] = entriesOf(parseHeaders(textValue(values['request-headers'])));
  if (isDirty(win, 'field-response-headers')) body['response-headers'] = entriesOf(parseHeaders(textValue(values['response-headers'])));
  if (isDirty(win, 'field-additional-targets')) body['additional-targets'] = entriesOf(parseTargets(textValue(values['additional-targets'])));
  if (isDirty(win, 'field-interface')) {
    const device = textValue(values['interface']);
    body['interface'] = device === automaticInterface || device === '' ? null : device;
  }
  if (isDirty(win, 'field-address')) {
    const address = textValue(values['address']);
    body['address'] = address === '' ? null : address;
  }
  return body;
}

/**
 * Maps an error key of the API to a list field, or returns undefined for other keys. Keys carry
 * an index or a sub-field (`request-headers[0].name`, `additional-targets.1.port`). The daemon
 * reports a bad address pin under `interface`, so the message decides between the two fields.
 */
export function advancedListErrorField(key: string, message: string): string | undefined {
  const base = key.split(/[[.]/)[0] ?? key;
  if (base === 'interface' && /address/i.test(message)) return 'address';
  const names: readonly string[] = ['basic-auth', 'request-headers', 'response-headers', 'additional-targets', 'interface', 'address'];
  return names.includes(base) ? base : undefined;
}
