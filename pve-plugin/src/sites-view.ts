/**
 * `PVEDomains.dc.SiteView` (xtype `pveDomainsSiteView`) and `PVEDomains.window.SiteEdit`: the
 * sites, each a set of ingress nodes and the public addresses its domains' records point at.
 */
import type { SiteView } from './api-types.js';
import { callDaemon } from './daemon-client.js';
import type { DaemonEditWindow } from './daemon-edit.js';
import { child, confirmAction, textValue, isGone, loadRows, noticeBar, refreshWhileVisible, selectedRow, setNotice, showError } from './ext-util.js';
import { canModifyDatacenter } from './permissions.js';

interface SiteEditWindow extends DaemonEditWindow {
  siteName?: string;
}

interface SiteGrid extends Required<Ext.grid.IPanel> {
  reload(): Promise<void>;
}

/** Splits the addresses text area: one address per line, or separated by commas or spaces. */
export function splitAddresses(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Adds node names to the choices of the nodes field, keeping those it has. */
function addNodeChoices(win: SiteEditWindow, names: readonly string[]): void {
  const combo = child<Required<Ext.form.field.IComboBox>>(win, 'field-nodes');
  const store = combo.getStore() as unknown as Required<Ext.data.IStore>;
  const known = new Set<string>();
  store.each((record: Required<Ext.data.IModel>) => {
    known.add(String(record.get('node')));
    return true;
  });
  const added = names.filter((name) => !known.has(name)).map((node) => ({ node }));
  if (added.length > 0) store.loadData(added, true);
}

/** Loads the cluster's node names from pveproxy into the nodes field. */
function loadNodeChoices(win: SiteEditWindow): void {
  Proxmox.Utils.API2Request({
    url: '/nodes',
    method: 'GET',
    success: (response) => {
      if (isGone(win)) return;
      addNodeChoices(win, (response.result.data as Array<{ node: string }>).map((item) => item.node));
    },
    failure: () => undefined,
  });
}

Ext.define('PVEDomains.window.SiteEdit', {
  extend: 'PVEDomains.window.DaemonEdit',
  alias: 'widget.pveDomainsSiteEdit',

  width: 480,
  subject: gettext('Site'),

  initComponent: function (this: SiteEditWindow, ...args: unknown[]) {
    const editing = this.siteName !== undefined;
    this.isCreate = !editing;
    this.isAdd = !editing;
    this.method = editing ? 'PUT' : 'POST';
    this.daemonPath = editing ? `/sites/${encodeURIComponent(this.siteName ?? '')}` : '/sites';
    if (editing) this.loadPath = this.daemonPath;
    (this as unknown as { items: object[] }).items = [
      editing
        ? { xtype: 'displayfield', name: 'site', fieldLabel: gettext('Name'), submitValue: false }
        : { xtype: 'textfield', name: 'site', itemId: 'field-site', fieldLabel: gettext('Name'), allowBlank: false, regex: /^[A-Za-z][A-Za-z0-9-]*$/, regexText: gettext('A letter, then letters, digits or hyphens') },
      {
        xtype: 'tagfield',
        name: 'nodes',
        itemId: 'field-nodes',
        fieldLabel: gettext('Ingress Nodes'),
        queryMode: 'local',
        valueField: 'node',
        displayField: 'node',
        store: { fields: ['node'], data: [] },
      },
      {
        xtype: 'textarea',
        name: 'addresses',
        itemId: 'field-addresses',
        fieldLabel: gettext('Public Addresses'),
        emptyText: '198.51.100.20\n2001:db8::20',
        allowBlank: false,
        height: 80,
      },
      { xtype: 'checkbox', name: 'default', itemId: 'field-default', fieldLabel: gettext('Default'), boxLabel: gettext('Used by domains that name no site') },
      { xtype: 'checkbox', name: 'allow-private', itemId: 'field-allow-private', fieldLabel: gettext('Private'), boxLabel: gettext('Accept private and loopback addresses (labs)') },
    ];
    this.callParent(args);
    loadNodeChoices(this);
  },

  toForm: function (this: SiteEditWindow, data: unknown) {
    const site = data as SiteView;
    // A stored node that pveproxy does not list (any more) must stay selectable, or the field drops it.
    addNodeChoices(this, site.nodes);
    return { site: site.site, nodes: site.nodes, addresses: site.addresses.join('\n'), default: site.default, 'allow-private': site['allow-private'] };
  },

  toRequest: function (this: SiteEditWindow, values: Record<string, unknown>) {
    const body: Record<string, unknown> = {
      nodes: Array.isArray(values['nodes']) ? values['nodes'] : [],
      addresses: splitAddresses(textValue(values['addresses'])),
      'allow-private': values['allow-private'] === true,
    };
    if (this.isCreate) body['site'] = textValue(values['site']);
    // Clearing the flag is refused by the API; another site takes it over instead.
    if (values['default'] === true) body['default'] = true;
    return body;
  },
});

async function loadSites(grid: SiteGrid): Promise<void> {
  try {
    const sites = await callDaemon<SiteView[]>('GET', '/sites');
    if (isGone(grid)) return;
    setNotice(grid, null);
    loadRows(grid, sites);
  } catch (err) {
    if (!isGone(grid)) showError(grid, err);
  }
}

function openEditor(grid: SiteGrid, siteName: string | undefined): void {
  const win = Ext.create('PVEDomains.window.SiteEdit', { siteName }) as Required<Ext.window.IWindow>;
  win.on('saved', () => void grid.reload());
  win.show();
}

const listRenderer = (value: unknown): string => (Array.isArray(value) ? value.map((item) => Ext.String.htmlEncode(String(item))).join(', ') : '');

// Records are identified by the API's key, so that a reload keeps the selection.
Ext.define('pve-domains-site', { extend: 'Ext.data.Model', fields: ['site'], idProperty: 'site' });

function configureSiteGrid(grid: SiteGrid): void {
  const writable = canModifyDatacenter();
  const selected = (): SiteView | undefined => selectedRow<SiteView>(grid);
  Ext.apply(grid, {
    store: { model: 'pve-domains-site', sorters: 'site', data: [] },
    dockedItems: [noticeBar()],
    tbar: [
      { text: gettext('Add'), itemId: 'add', iconCls: 'fa fa-plus', hidden: !writable, handler: () => openEditor(grid, undefined) },
      { text: gettext('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', hidden: !writable, disabled: true, handler: () => openEditor(grid, selected()?.site) },
      {
        text: gettext('Remove'),
        itemId: 'remove',
        iconCls: 'fa fa-trash-o',
        hidden: !writable,
        disabled: true,
        handler: () => {
          const site = selected();
          if (site === undefined) return;
          confirmAction(Ext.String.format(gettext('Are you sure you want to remove site {0}?'), `<b>${Ext.String.htmlEncode(site.site)}</b>`), () => {
            callDaemon<unknown>('DELETE', `/sites/${encodeURIComponent(site.site)}`)
              .then(() => grid.reload())
              .catch((err: unknown) => showError(grid, err));
          });
        },
      },
    ],
    columns: [
      { text: gettext('Site'), dataIndex: 'site', width: 140, renderer: (value: string, _meta: unknown, record: Ext.data.IModel) => {
        const isDefault = (record as Required<Ext.data.IModel>).get('default') === true;
        return isDefault ? `${Ext.String.htmlEncode(value)} <span class="pmx-hint">(${gettext('default')})</span>` : Ext.String.htmlEncode(value);
      } },
      { text: gettext('Ingress Nodes'), dataIndex: 'nodes', flex: 1, renderer: listRenderer },
      { text: gettext('Public Addresses'), dataIndex: 'addresses', flex: 1, renderer: listRenderer },
      { text: gettext('Domains'), dataIndex: 'domains', flex: 1, renderer: listRenderer },
    ],
    listeners: {
      selectionchange: (_model: unknown, records: unknown[]) => {
        for (const id of ['edit', 'remove']) child<Required<Ext.button.IButton>>(grid, id).setDisabled(records.length === 0);
      },
      itemdblclick: () => {
        if (writable) openEditor(grid, selected()?.site);
      },
    },
  });
}

function startSiteGrid(grid: SiteGrid): void {
  refreshWhileVisible(grid, 30_000, () => loadSites(grid));
}

Ext.define('PVEDomains.dc.SiteView', {
  extend: 'Ext.grid.Panel',
  alias: 'widget.pveDomainsSiteView',

  emptyText: gettext('No sites configured'),

  initComponent: function (this: SiteGrid, ...args: unknown[]) {
    configureSiteGrid(this);
    this.callParent(args);
    startSiteGrid(this);
  },

  reload: function (this: SiteGrid) {
    return loadSites(this);
  },
});
