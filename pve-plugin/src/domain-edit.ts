/**
 * `PVEDomains.window.DomainEdit`: add or edit a registered domain with its ACME directory,
 * account and Cloudflare credentials. Secrets are write-only: when editing, an empty secret
 * field keeps the stored secret, which its empty text shows.
 */
import type { DomainView } from './api-types.js';
import type { DaemonEditWindow } from './daemon-edit.js';
import { child, isGone } from './ext-util.js';

interface DomainEditWindow extends DaemonEditWindow {
  /** The domain being edited; undefined for Add. */
  domainName?: string;
  /** Secret fields that hold a stored value, so that their empty text shows "unchanged". */
  storedSecrets: Set<string>;
}

/** Fields that belong to each Cloudflare credential kind. */
const credentialFields: Record<string, string[]> = {
  'api-token': ['cloudflare-token'],
  'global-key': ['cloudflare-global-key', 'cloudflare-email'],
  split: ['cloudflare-zone-token', 'cloudflare-dns-token'],
};

const allCredentialFields = Object.values(credentialFields).flat();

/** Verification check ids of the API and the field each one is about, per credential kind. */
function checkField(check: string, kind: string, preset: string): string | undefined {
  const credential = credentialFields[kind]?.[0] ?? 'cloudflare-token';
  switch (check) {
    case 'credentials':
      return credential;
    case 'dns-edit':
      return kind === 'split' ? 'cloudflare-dns-token' : credential;
    case 'zone':
    case 'delegation':
    case 'caa':
      return 'domain';
    case 'acme-account':
      return preset === 'custom' ? 'acme-directory' : 'acme-directory-preset';
    default:
      return undefined;
  }
}

function presetItems(): Array<[string, string]> {
  return [
    ['letsencrypt', "Let's Encrypt"],
    ['letsencrypt-staging', gettext("Let's Encrypt (Staging)")],
    ['zerossl', 'ZeroSSL'],
    ['custom', gettext('Custom')],
  ];
}

function fieldValue(win: DomainEditWindow, name: string): string {
  const field = child<Required<Ext.form.field.IBase>>(win, `field-${name}`);
  const value: unknown = field.getValue();
  return typeof value === 'string' ? value : '';
}

/** Shows the fields that apply to the chosen directory preset and credential kind. */
function updateVisibility(win: DomainEditWindow): void {
  const preset = fieldValue(win, 'acme-directory-preset') || 'letsencrypt';
  const kind = fieldValue(win, 'cloudflare-credentials') || 'api-token';
  const show = (name: string, visible: boolean): void => {
    const field = child<Required<Ext.form.field.IBase>>(win, `field-${name}`);
    field.setVisible(visible);
    field.setDisabled(!visible);
  };
  show('acme-directory', preset === 'custom');
  show('eab-key-id', preset === 'zerossl' || preset === 'custom');
  show('eab-hmac-key', preset === 'zerossl' || preset === 'custom');
  for (const name of allCredentialFields) show(name, credentialFields[kind]?.includes(name) === true);
  const creating = win.isCreate;
  for (const name of [...allCredentialFields, 'eab-hmac-key']) {
    const field = child<Required<Ext.form.field.ITrigger>>(win, `field-${name}`);
    // A secret may stay empty only when a stored one exists; `cloudflare-email` is not secret but comes with the key.
    const keep = !creating && win.storedSecrets.has(name);
    (field as unknown as { allowBlank: boolean }).allowBlank = keep || name.startsWith('eab-');
    (field as unknown as { setEmptyText(text: string): void }).setEmptyText(keep ? gettext('unchanged') : '');
  }
}

function secretField(name: string, label: string): object {
  return { xtype: 'textfield', inputType: 'password', name, itemId: `field-${name}`, fieldLabel: label, allowBlank: false, hidden: true, disabled: true };
}

Ext.define('PVEDomains.window.DomainEdit', {
  extend: 'PVEDomains.window.DaemonEdit',
  alias: 'widget.pveDomainsDomainEdit',

  width: 560,
  subject: gettext('Domain'),

  initComponent: function (this: DomainEditWindow, ...args: unknown[]) {
    const editing = this.domainName !== undefined;
    this.isCreate = !editing;
    this.isAdd = !editing;
    this.storedSecrets = new Set();
    this.method = editing ? 'PUT' : 'POST';
    this.daemonPath = editing ? `/domains/${encodeURIComponent(this.domainName ?? '')}` : '/domains';
    if (editing) this.loadPath = this.daemonPath;
    const onChange = (): void => updateVisibility(this);

    (this as unknown as { items: object[] }).items = [
      editing
        ? { xtype: 'displayfield', name: 'domain', itemId: 'field-domain', fieldLabel: gettext('Domain'), submitValue: false }
        : { xtype: 'textfield', name: 'domain', itemId: 'field-domain', fieldLabel: gettext('Domain'), allowBlank: false, emptyText: 'example.com' },
      {
        xtype: 'combobox',
        name: 'site',
        itemId: 'field-site',
        fieldLabel: gettext('Site'),
        emptyText: gettext('Default site'),
        editable: false,
        queryMode: 'local',
        valueField: 'site',
        displayField: 'site',
        store: { fields: ['site'], data: [] },
      },
      {
        xtype: 'combobox',
        name: 'acme-directory-preset',
        itemId: 'field-acme-directory-preset',
        fieldLabel: gettext('ACME Directory'),
        editable: false,
        value: 'letsencrypt',
        store: presetItems(),
        listeners: { change: onChange },
      },
      { xtype: 'textfield', name: 'acme-directory', itemId: 'field-acme-directory', fieldLabel: gettext('Directory URL'), emptyText: 'https://ca.example.com/acme/directory', allowBlank: false, hidden: true, disabled: true },
      { xtype: 'textfield', name: 'eab-key-id', itemId: 'field-eab-key-id', fieldLabel: gettext('EAB Key ID'), hidden: true, disabled: true },
      { ...secretField('eab-hmac-key', gettext('EAB HMAC Key')), allowBlank: true },
      { xtype: 'textfield', name: 'acme-email', itemId: 'field-acme-email', fieldLabel: gettext('E-Mail'), vtype: 'email', allowBlank: false },
      {
        xtype: 'combobox',
        name: 'certificate-mode',
        itemId: 'field-certificate-mode',
        fieldLabel: gettext('Certificates'),
        editable: false,
        value: 'per-service',
        store: [
          ['per-service', gettext('One per service')],
          ['wildcard', gettext('Wildcard for the domain')],
        ],
      },
      {
        xtype: 'combobox',
        name: 'cloudflare-credentials',
        itemId: 'field-cloudflare-credentials',
        fieldLabel: gettext('Cloudflare'),
        editable: false,
        value: 'api-token',
        store: [
          ['api-token', gettext('API token')],
          ['global-key', gettext('Global API key and e-mail')],
          ['split', gettext('Zone token and DNS token')],
        ],
        listeners: { change: onChange },
      },
      secretField('cloudflare-token', gettext('API Token')),
      secretField('cloudflare-global-key', gettext('Global API Key')),
      { xtype: 'textfield', name: 'cloudflare-email', itemId: 'field-cloudflare-email', fieldLabel: gettext('Account E-Mail'), vtype: 'email', allowBlank: false, hidden: true, disabled: true },
      secretField('cloudflare-zone-token', gettext('Zone Token')),
      secretField('cloudflare-dns-token', gettext('DNS Token')),
      {
        xtype: 'fieldset',
        title: gettext('Advanced'),
        itemId: 'advanced',
        collapsible: true,
        collapsed: true,
        defaults: { anchor: '100%', labelWidth: 140 },
        items: [
          { xtype: 'textfield', name: 'auth-server', itemId: 'field-auth-server', fieldLabel: gettext('Sign-in Server'), emptyText: gettext('none (services cannot require sign-in)') },
          { xtype: 'textfield', name: 'notify-webhook', itemId: 'field-notify-webhook', fieldLabel: gettext('Notification Webhook'), emptyText: gettext('none') },
          { xtype: 'checkbox', name: 'remove-notify-webhook', itemId: 'field-remove-notify-webhook', fieldLabel: ' ', labelSeparator: '', boxLabel: gettext('Remove the stored webhook'), hidden: true },
          { xtype: 'textfield', name: 'acme-profile', itemId: 'field-acme-profile', fieldLabel: gettext('ACME Profile'), emptyText: gettext("CA's default") },
          {
            xtype: 'combobox',
            name: 'key-type',
            itemId: 'field-key-type',
            fieldLabel: gettext('Key Type'),
            editable: false,
            value: 'ecdsa-p256',
            store: [
              ['ecdsa-p256', 'ECDSA P-256'],
              ['ecdsa-p384', 'ECDSA P-384'],
              ['rsa-2048', 'RSA 2048'],
              ['rsa-4096', 'RSA 4096'],
            ],
          },
          { xtype: 'checkbox', name: 'skip-verify', itemId: 'field-skip-verify', fieldLabel: gettext('Skip Checks'), boxLabel: gettext('Save even when a check fails (the domain is marked not ready)') },
        ],
      },
    ];
    this.callParent(args);
    updateVisibility(this);
  },

  toForm: function (this: DomainEditWindow, data: unknown) {
    const domain = data as DomainView;
    this.storedSecrets = new Set(domain['eab-hmac-key'] === 'set' ? ['eab-hmac-key'] : []);
    for (const name of credentialFields[domain['cloudflare-credentials']] ?? []) this.storedSecrets.add(name);
    this.storedSecrets.delete('cloudflare-email');
    const values = {
      domain: domain['domain-unicode'] === domain.domain ? domain.domain : `${domain['domain-unicode']} (${domain.domain})`,
      site: domain.site ?? '',
      'acme-directory-preset': domain['acme-directory-preset'],
      'acme-directory': domain['acme-directory-preset'] === 'custom' ? domain['acme-directory'] : '',
      'acme-email': domain['acme-email'],
      'eab-key-id': domain['eab-key-id'] ?? '',
      'certificate-mode': domain['certificate-mode'],
      'cloudflare-credentials': domain['cloudflare-credentials'],
      'acme-profile': domain['acme-profile'] ?? '',
      'key-type': domain['key-type'],
      'auth-server': domain['auth-server'] ?? '',
    };
    Ext.defer(() => {
      updateVisibility(this);
      showStoredWebhook(this, domain['notify-webhook']);
    }, 1);
    return values;
  },

  toRequest: function (this: DomainEditWindow, values: Record<string, unknown>) {
    const body: Record<string, unknown> = {};
    const text = (name: string): string => (typeof values[name] === 'string' ? (values[name]).trim() : '');
    const preset = text('acme-directory-preset');
    if (this.isCreate) body['domain'] = text('domain');
    if (text('site') !== '') body['site'] = text('site');
    body['acme-directory'] = preset === 'custom' ? text('acme-directory') : preset;
    body['acme-email'] = text('acme-email');
    if (preset === 'zerossl' || preset === 'custom') {
      if (text('eab-key-id') !== '') body['eab-key-id'] = text('eab-key-id');
      if (text('eab-hmac-key') !== '') body['eab-hmac-key'] = text('eab-hmac-key');
    }
    body['certificate-mode'] = text('certificate-mode');
    const kind = text('cloudflare-credentials');
    for (const name of credentialFields[kind] ?? []) if (text(name) !== '') body[name] = text(name);
    if (this.isCreate || text('acme-profile') !== '') body['acme-profile'] = text('acme-profile');
    body['key-type'] = text('key-type');
    // An empty sign-in server removes the stored one; the webhook field is write-only, so
    // leaving it empty keeps the stored URL and only the checkbox removes it.
    if (!this.isCreate || text('auth-server') !== '') body['auth-server'] = text('auth-server');
    if (values['remove-notify-webhook'] === true) body['notify-webhook'] = '';
    else if (text('notify-webhook') !== '') body['notify-webhook'] = text('notify-webhook');
    if (values['skip-verify'] === true) body['skip-verify'] = true;
    return body;
  },

  errorField: function (this: DomainEditWindow, key: string, message: string) {
    const kind = fieldValue(this, 'cloudflare-credentials');
    const preset = fieldValue(this, 'acme-directory-preset');
    const check = checkField(key, kind, preset);
    if (check !== undefined) return message.startsWith('fail') ? check : undefined;
    if (key === 'acme-directory' && preset !== 'custom') return 'acme-directory-preset';
    return key;
  },
});

/**
 * Shows a stored webhook, which the API returns masked, as the field's empty text, and offers to
 * remove it.
 */
function showStoredWebhook(win: DomainEditWindow, masked: string | null): void {
  if (isGone(win) || masked === null) return;
  const field = child<Required<Ext.form.field.IText>>(win, 'field-notify-webhook');
  (field as unknown as { setEmptyText(text: string): void }).setEmptyText(Ext.String.format(gettext('unchanged ({0})'), masked));
  child<Required<Ext.form.field.ICheckbox>>(win, 'field-remove-notify-webhook').setVisible(true);
}

/** Fills the site drop-down of an open window from the daemon's sites. */
export function setSiteChoices(win: Ext.window.IWindow, sites: readonly string[]): void {
  const combo = child<Required<Ext.form.field.IComboBox>>(win, 'field-site');
  ((combo.getStore() as unknown) as Required<Ext.data.IStore>).loadData(sites.map((site) => ({ site })));
}
