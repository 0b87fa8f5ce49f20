/**
 * `PVEDomains.window.ServiceEdit`: expose a port of a guest under a subdomain of a registered
 * domain, or change an exposed service's port and options. The full name is previewed and
 * checked while typing; the daemon checks again and its field errors are marked.
 */
import type { DomainView, ServiceProtocol, ServiceView } from './api-types.js';
import { callDaemon } from './daemon-client.js';
import { protocolText } from './render.js';
import type { DaemonEditWindow } from './daemon-edit.js';
import { child, isGone, textValue } from './ext-util.js';
import { advancedListErrorField, advancedListFormValues, accessAndHeaderItems, advancedListRequest, enableAdvancedListFields, targetItems, type AdvancedServiceData } from './service-advanced-fields.js';
import { forwardingItems, forwardingRequest, protocolField, protocolFormValues, showProtocolFields } from './service-protocol-fields.js';

interface ServiceEditWindow extends DaemonEditWindow {
  vmid: number;
  /** The service being edited; undefined for Add. */
  fqdn?: string;
  /** The protocol of the service being edited, read when it loads. */
  storedProtocol: ServiceProtocol;
}

/** Returns the protocol chosen in the window, or the edited service's. */
function currentProtocol(win: ServiceEditWindow): ServiceProtocol {
  if (!win.isCreate) return win.storedProtocol;
  const chosen: unknown = child<Required<Ext.form.field.IBase>>(win, 'field-protocol').getValue();
  return chosen === 'tcp' || chosen === 'udp' ? chosen : 'http';
}

/** Longest DNS name in text form (RFC 1035 section 2.3.4, without the root dot). */
const maxNameLength = 253;

/**
 * Returns an error text for a subdomain, or null when it is valid: dot-separated labels of 1 to
 * 63 letters, digits or hyphens, not starting or ending with a hyphen (RFC 1123 section 2.1).
 * Unicode letters are accepted; the daemon stores them in punycode.
 */
export function subdomainError(subdomain: string, domain: string): string | null {
  if (subdomain === '') return gettext('Enter the name before the domain, such as app');
  for (const label of subdomain.split('.')) {
    if (label === '') return gettext('Empty label: remove the extra dot');
    if (label.length > 63) return gettext('A label may have at most 63 characters');
    if (!/^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?$/u.test(label)) return gettext('Use letters, digits and hyphens; a label may not start or end with a hyphen');
  }
  if (`${subdomain}.${domain}`.length > maxNameLength) return Ext.String.format(gettext('The full name may have at most {0} characters'), maxNameLength);
  return null;
}

function value(win: ServiceEditWindow, name: string): string {
  const field = child<Required<Ext.form.field.IBase>>(win, `field-${name}`);
  const current: unknown = field.getValue();
  return typeof current === 'string' ? current.trim().toLowerCase() : '';
}

/** Updates the full-name preview under the subdomain field. */
function updatePreview(win: ServiceEditWindow): void {
  if (isGone(win) || !win.isCreate) return;
  const subdomain = value(win, 'subdomain');
  const domain = value(win, 'domain');
  const preview = child<Required<Ext.form.field.IDisplay>>(win, 'preview');
  if (subdomain === '' || domain === '') {
    preview.setValue(`<span class="pmx-hint">${gettext('Choose a domain and enter a subdomain')}</span>`);
    return;
  }
  const problem = subdomainError(subdomain, domain);
  const protocol = currentProtocol(win);
  const externalPort: unknown = child<Required<Ext.form.field.IBase>>(win, 'field-external-port').getValue();
  const address = protocol === 'http' ? `https://${subdomain}.${domain}/` : `${subdomain}.${domain}:${typeof externalPort === 'number' ? externalPort : '?'} (${protocol.toUpperCase()})`;
  const url = Ext.String.htmlEncode(address);
  preview.setValue(problem === null ? `<i class="fa fa-fw fa-check good"></i> ${url}` : `<i class="fa fa-fw fa-times critical"></i> ${url}`);
}

function numberOrNull(input: unknown): number | null {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input === 'string' && input.trim() !== '' && Number.isFinite(Number(input))) return Number(input);
  return null;
}

function lines(input: unknown): string[] {
  return textValue(input)
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function advancedItems(): object[] {
  return [
    { xtype: 'checkbox', name: 'https-redirect', itemId: 'field-https-redirect', fieldLabel: gettext('HTTPS Redirect'), boxLabel: gettext('Redirect http:// to https://'), checked: true, uncheckedValue: false, inputValue: true },
    { xtype: 'numberfield', name: 'hsts-max-age', itemId: 'field-hsts-max-age', fieldLabel: gettext('HSTS max-age (s)'), minValue: 0, maxValue: 63_072_000, allowDecimals: false, emptyText: gettext('off') },
    { xtype: 'checkbox', name: 'hsts-include-subdomains', itemId: 'field-hsts-include-subdomains', fieldLabel: gettext('HSTS Subdomains'), boxLabel: gettext('includeSubDomains') },
    { xtype: 'numberfield', name: 'websocket-timeout', itemId: 'field-websocket-timeout', fieldLabel: gettext('WebSocket Timeout (s)'), minValue: 1, maxValue: 86_400, allowDecimals: false, emptyText: '3600' },
    {
      xtype: 'combobox',
      name: 'backend-protocol',
      itemId: 'field-backend-protocol',
      fieldLabel: gettext('Backend Protocol'),
      editable: false,
      value: 'http',
      store: [
        ['http', 'HTTP'],
        ['https', gettext('HTTPS (verified)')],
        ['https-insecure', gettext('HTTPS (not verified)')],
      ],
    },
    { xtype: 'textfield', name: 'health-check-path', itemId: 'field-health-check', fieldLabel: gettext('Health Check Path'), emptyText: gettext('off'), regex: /^\//, regexText: gettext('Start the path with /') },
    { xtype: 'numberfield', name: 'health-check-interval', itemId: 'field-health-check-interval', fieldLabel: gettext('Check Interval (s)'), minValue: 1, maxValue: 3600, allowDecimals: false, emptyText: '5' },
    { xtype: 'textarea', name: 'allowed-networks', itemId: 'field-allowed-networks', fieldLabel: gettext('Allowed Networks'), emptyText: gettext('Everyone (one CIDR per line)'), height: 60 },
    ...targetItems(),
    {
      xtype: 'combobox',
      name: 'balance',
      itemId: 'field-balance',
      fieldLabel: gettext('Balancing'),
      editable: false,
      value: 'roundrobin',
      store: [
        ['roundrobin', gettext('Round robin')],
        ['leastconn', gettext('Least connections')],
        ['source', gettext('Source address')],
      ],
    },
    ...accessAndHeaderItems(),
    { xtype: 'checkbox', name: 'cloudflare-proxied', itemId: 'field-cloudflare-proxied', fieldLabel: gettext('Cloudflare Proxy'), boxLabel: gettext('Proxy the record through Cloudflare') },
    { xtype: 'checkbox', name: 'auth', itemId: 'field-auth', fieldLabel: gettext('Sign-in Required'), boxLabel: gettext("Sign in through the domain's sign-in server"), uncheckedValue: false, inputValue: true },
    // 1 KiB to 1 TiB, the limits of the daemon's max-body-size option.
    { xtype: 'numberfield', name: 'max-body-size', itemId: 'field-max-body-size', fieldLabel: gettext('Max. Body Size (bytes)'), minValue: 1024, maxValue: 1024 ** 4, allowDecimals: false, emptyText: gettext('no limit') },
    { xtype: 'checkbox', name: 'buffering', itemId: 'field-buffering', fieldLabel: gettext('Buffering'), boxLabel: gettext('Buffer requests; clear to stream (server-sent events, large uploads)'), checked: true, uncheckedValue: false, inputValue: true },
  ];
}

Ext.define('PVEDomains.window.ServiceEdit', {
  extend: 'PVEDomains.window.DaemonEdit',
  alias: 'widget.pveDomainsServiceEdit',

  width: 520,
  subject: gettext('Service'),

  initComponent: function (this: ServiceEditWindow, ...args: unknown[]) {
    const editing = this.fqdn !== undefined;
    this.isCreate = !editing;
    this.isAdd = !editing;
    this.method = editing ? 'PUT' : 'POST';
    this.daemonPath = editing ? `/services/${encodeURIComponent(this.fqdn ?? '')}` : '/services';
    if (editing) this.loadPath = this.daemonPath;
    this.storedProtocol = 'http';
    const onChange = (): void => {
      updatePreview(this);
    };
    const onProtocolChange = (): void => {
      showProtocolFields(this, currentProtocol(this));
      enableAdvancedListFields(this, currentProtocol(this) === 'http');
      updatePreview(this);
    };

    const nameItems: object[] = editing
      ? [{ xtype: 'displayfield', name: 'fqdn', fieldLabel: gettext('Name'), submitValue: false }]
      : [
          {
            xtype: 'combobox',
            name: 'domain',
            itemId: 'field-domain',
            fieldLabel: gettext('Domain'),
            editable: false,
            allowBlank: false,
            queryMode: 'local',
            valueField: 'domain',
            displayField: 'label',
            emptyText: gettext('Loading...'),
            store: { fields: ['domain', 'label'], data: [] },
            listeners: { change: onChange },
          },
          {
            xtype: 'textfield',
            name: 'subdomain',
            itemId: 'field-subdomain',
            fieldLabel: gettext('Subdomain'),
            allowBlank: false,
            emptyText: 'app',
            enableKeyEvents: true,
            validator: (text: string) => subdomainError(text.trim().toLowerCase(), value(this, 'domain')) ?? true,
            listeners: { change: onChange },
          },
          { xtype: 'displayfield', itemId: 'preview', fieldLabel: gettext('Address'), submitValue: false, value: '' },
        ];

    (this as unknown as { items: object[] }).items = [
      protocolField(editing, onProtocolChange),
      ...nameItems,
      { xtype: 'numberfield', name: 'port', itemId: 'field-port', fieldLabel: gettext('Port'), minValue: 1, maxValue: 65535, allowDecimals: false, allowBlank: false, emptyText: '8080' },
      ...forwardingItems(onChange),
      { xtype: 'fieldset', title: gettext('Advanced'), itemId: 'advanced', collapsible: true, collapsed: true, defaults: { anchor: '100%', labelWidth: 150 }, items: advancedItems() },
    ];
    this.callParent(args);
    if (!editing) {
      showProtocolFields(this, 'http');
      updatePreview(this);
      loadDomainChoices(this);
    }
  },

  toForm: function (this: ServiceEditWindow, data: unknown) {
    const service = data as ServiceView;
    const options = service.options;
    this.storedProtocol = service.protocol ?? 'http';
    showProtocolFields(this, this.storedProtocol);
    enableAdvancedListFields(this, this.storedProtocol === 'http');
    child<Required<Ext.form.field.IDisplay>>(this, 'protocol-display').setValue(Ext.String.htmlEncode(protocolText(service)));
    return {
      ...protocolFormValues(service),
      ...advancedListFormValues(data as AdvancedServiceData),
      fqdn: service.fqdn,
      port: service.port,
      'https-redirect': options['https-redirect'],
      'hsts-max-age': options['hsts-max-age'] ?? '',
      'hsts-include-subdomains': options['hsts-include-subdomains'],
      'websocket-timeout': options['websocket-timeout'],
      'backend-protocol': options['backend-protocol'],
      'health-check-path': options['health-check']?.path ?? '',
      'health-check-interval': options['health-check']?.interval ?? '',
      'allowed-networks': options['allowed-networks'].join('\n'),
      balance: options.balance,
      'cloudflare-proxied': options['cloudflare-proxied'],
      auth: options.auth,
      'max-body-size': options['max-body-size'] ?? '',
      buffering: options.buffering,
    };
  },

  toRequest: function (this: ServiceEditWindow, values: Record<string, unknown>) {
    const body: Record<string, unknown> = {};
    if (this.isCreate) {
      body['subdomain'] = textValue(values['subdomain']).toLowerCase();
      body['domain'] = textValue(values['domain']);
      body['vmid'] = this.vmid;
    }
    body['port'] = numberOrNull(values['port']);
    const protocol = currentProtocol(this);
    // The Advanced options apply to HTTP only, so a forwarded port sends none of them.
    if (protocol !== 'http') return { ...body, ...forwardingRequest(values, protocol, this.isCreate) };
    body['https-redirect'] = values['https-redirect'] === true;
    const hsts = numberOrNull(values['hsts-max-age']);
    body['hsts-max-age'] = hsts;
    if (hsts !== null) body['hsts-include-subdomains'] = values['hsts-include-subdomains'] === true;
    const timeout = numberOrNull(values['websocket-timeout']);
    if (timeout !== null) body['websocket-timeout'] = timeout;
    body['backend-protocol'] = values['backend-protocol'];
    const checkPath = textValue(values['health-check-path']);
    const interval = numberOrNull(values['health-check-interval']);
    body['health-check'] = checkPath === '' ? null : { path: checkPath, ...(interval === null ? {} : { interval }) };
    body['allowed-networks'] = lines(values['allowed-networks']);
    body['balance'] = values['balance'];
    body['cloudflare-proxied'] = values['cloudflare-proxied'] === true;
    body['auth'] = values['auth'] === true;
    body['max-body-size'] = numberOrNull(values['max-body-size']);
    body['buffering'] = values['buffering'] === true;
    return { ...body, ...advancedListRequest(this, values) };
  },

  errorField: (key: string, message: string) => {
    const listField = advancedListErrorField(key, message);
    if (listField !== undefined) return listField;
    if (key === 'health-check' || key.startsWith('health-check.')) return 'health-check-path';
    if (key === 'fqdn') return 'subdomain';
    if (key === 'srv') return 'srv-service';
    return key;
  },
});

/** Fills the domain drop-down with the registered domains that are not being removed. */
function loadDomainChoices(win: ServiceEditWindow): void {
  callDaemon<DomainView[]>('GET', '/domains')
    .then((domains) => {
      if (isGone(win)) return;
      const combo = child<Required<Ext.form.field.IComboBox>>(win, 'field-domain');
      const rows = domains
        .filter((domain) => !domain.deleting)
        .map((domain) => ({ domain: domain.domain, label: domain['domain-unicode'] === domain.domain ? domain.domain : `${domain['domain-unicode']} (${domain.domain})` }));
      (combo.getStore() as unknown as Required<Ext.data.IStore>).loadData(rows);
      (combo as unknown as { setEmptyText(text: string): void }).setEmptyText(rows.length === 0 ? gettext('No domains registered; add one under Datacenter') : '');
      const first = rows[0];
      if (rows.length === 1 && first !== undefined) combo.setValue(first.domain);
    })
    .catch(() => undefined);
}
