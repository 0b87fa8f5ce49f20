/**
 * `PVEDomains.dc.DomainView` (xtype `pveDomainsDomainView`): Datacenter → External Domains. A
 * grid of the registered domains with Add, Edit, Remove and Verify, in the manner of PVE's ACME
 * panels. Users without Sys.Modify on / get the grid without the changing buttons.
 */
import type { CertificateView, DomainView, ServiceView, TaskView, VerifyResult } from './api-types.js';
import { callDaemon, errorText } from './daemon-client.js';
import { setSiteChoices } from './domain-edit.js';
import { child, confirmAction, isGone, loadRows, noticeBar, refreshWhileVisible, selectedRow, setNotice, showError } from './ext-util.js';
import { canModifyDatacenter } from './permissions.js';
import { renderDirectory, renderDomainStatus, renderExpiry, formatTime } from './render.js';
import { findNewestTask, showTaskLog, taskTitle, waitForNewTask } from './task-log.js';

/** A domain row: the API's view plus the nearest certificate expiry of its names. */
interface DomainRow extends DomainView {
  expiry: string | null;
}

interface DomainGrid extends Required<Ext.grid.IPanel> {
  reload(): Promise<void>;
}

async function loadDomains(grid: DomainGrid): Promise<void> {
  try {
    const domains = await callDaemon<DomainView[]>('GET', '/domains');
    let certificates: CertificateView[] = [];
    try {
      certificates = await callDaemon<CertificateView[]>('GET', '/certificates');
    } catch {
      // The expiry column stays empty; the domains themselves are still worth showing.
    }
    if (isGone(grid)) return;
    const rows: DomainRow[] = domains.map((domain) => {
      const expiries = certificates.filter((item) => item.domain === domain.domain).map((item) => item['not-after']).sort();
      return { ...domain, expiry: expiries[0] ?? null };
    });
    setNotice(grid, null);
    loadRows(grid, rows);
  } catch (err) {
    if (!isGone(grid)) showError(grid, err);
  }
}

function openEditor(grid: DomainGrid, domainName: string | undefined): void {
  const win = Ext.create('PVEDomains.window.DomainEdit', { domainName }) as Required<Ext.window.IWindow>;
  win.on('saved', () => void grid.reload());
  win.show();
  callDaemon<Array<{ site: string }>>('GET', '/sites')
    .then((sites) => setSiteChoices(win, sites.map((item) => item.site)))
    .catch(() => undefined);
}

function removeDomain(grid: DomainGrid, domain: DomainRow): void {
  const ask = (services: string[]): void => {
    let message = Ext.String.format(gettext('Are you sure you want to remove domain {0}?'), `<b>${Ext.String.htmlEncode(domain.domain)}</b>`);
    if (domain.services > 0) {
      const names = services.length > 0 ? services.map((name) => Ext.String.htmlEncode(name)).join('<br>') : Ext.String.format(gettext('{0} service(s)'), domain.services);
      message += `<br><br>${gettext('These services are removed with it, with their DNS records and certificates:')}<br>${names}`;
    }
    confirmAction(message, () => {
      const query: Record<string, string> = domain.services > 0 ? { 'remove-services': '1' } : {};
      callDaemon<unknown>('DELETE', `/domains/${encodeURIComponent(domain.domain)}`, undefined, query)
        .then(() => grid.reload())
        .catch((err: unknown) => showError(grid, err));
    });
  };
  if (domain.services === 0) {
    ask([]);
    return;
  }
  callDaemon<ServiceView[]>('GET', '/services')
    .then((services) => ask(services.filter((item) => item.domain === domain.domain).map((item) => item.fqdn)))
    .catch(() => ask([]));
}

function checkIcon(status: string): string {
  const icons: Record<string, string> = { pass: 'fa-check good', fail: 'fa-times critical', warn: 'fa-exclamation-triangle warning', skip: 'fa-minus' };
  return `<i class="fa fa-fw ${icons[status] ?? 'fa-question'}"></i>`;
}

function checkTitle(check: string): string {
  const titles: Record<string, string> = {
    credentials: gettext('Cloudflare credentials'),
    zone: gettext('Cloudflare zone'),
    delegation: gettext('Delegation to Cloudflare'),
    'dns-edit': gettext('DNS edit permission'),
    'acme-account': gettext('ACME account'),
    caa: gettext('CAA records'),
  };
  return titles[check] ?? check;
}

/** Enables the verify window's Task Log button for the verify task that the checks ran in. */
async function linkVerifyTask(win: Required<Ext.window.IWindow>, domain: string, previous: TaskView | undefined): Promise<void> {
  const task = await waitForNewTask(['verify'], domain, previous, 3).catch(() => undefined);
  if (task === undefined || isGone(win)) return;
  const link = child<Required<Ext.button.IButton>>(win, 'tasklog');
  link.setHandler(() => showTaskLog(task.upid, taskTitle(task)));
  link.setDisabled(false);
}

/** Runs the domain's checks again and shows each one's result in a window, with a link to the task's log. */
function verifyDomain(grid: DomainGrid, domain: DomainRow): void {
  const win = Ext.create('Ext.window.Window', {
    title: Ext.String.format(gettext('Verify: {0}'), domain.domain),
    itemId: 'pveDomainsVerify',
    modal: true,
    width: 640,
    height: 320,
    layout: 'fit',
    items: [
      {
        xtype: 'grid',
        itemId: 'checks',
        emptyText: gettext('Running the checks...'),
        store: { fields: ['check', 'status', 'message'], data: [] },
        columns: [
          { text: gettext('Check'), dataIndex: 'check', width: 200, renderer: (value: string, _meta: unknown, record: Ext.data.IModel) => `${checkIcon(String((record as Required<Ext.data.IModel>).get('status')))} ${Ext.String.htmlEncode(checkTitle(value))}` },
          { text: gettext('Result'), dataIndex: 'message', flex: 1, cellWrap: true },
        ],
      },
    ],
    buttons: [
      { text: gettext('Task Log'), itemId: 'tasklog', iconCls: 'fa fa-list-alt', disabled: true },
      { text: gettext('Close'), handler: function (this: Ext.button.IButton) { ((this as Required<Ext.button.IButton>).up('window') as Required<Ext.window.IWindow>).close(); } },
    ],
  }) as Required<Ext.window.IWindow>;
  win.show();
  win.setLoading(gettext('Running the checks...'));
  const run = async (): Promise<void> => {
    const previous = await findNewestTask(['verify'], domain.domain).catch(() => undefined);
    const result = await callDaemon<VerifyResult>('POST', `/domains/${encodeURIComponent(domain.domain)}/verify`);
    if (isGone(win)) return;
    win.setLoading(false);
    loadRows(child<Ext.grid.IPanel>(win, 'checks'), result.checks);
    const verdict = result.ready ? gettext('Ready') : gettext('Not ready');
    win.setTitle(Ext.String.format(gettext('Verify: {0} ({1}, checked {2})'), domain.domain, verdict, formatTime(result['checked-at'])));
    void grid.reload();
    await linkVerifyTask(win, domain.domain, previous);
  };
  run().catch((err: unknown) => {
    if (isGone(win)) return;
    win.setLoading(false);
    win.close();
    Ext.Msg.alert(gettext('Error'), Ext.String.htmlEncode(errorText(err)));
  });
}

function configureDomainGrid(grid: DomainGrid): void {
  const writable = canModifyDatacenter();
  const selected = (): DomainRow | undefined => selectedRow<DomainRow>(grid);
  const needSelection = { disabled: true };

  Ext.apply(grid, {
    store: { model: 'pve-domains-domain', sorters: 'domain', data: [] },
    dockedItems: [noticeBar()],
    tbar: [
      { text: gettext('Add'), itemId: 'add', iconCls: 'fa fa-plus', hidden: !writable, handler: () => openEditor(grid, undefined) },
      { text: gettext('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', hidden: !writable, ...needSelection, handler: () => openEditor(grid, selected()?.domain) },
      { text: gettext('Remove'), itemId: 'remove', iconCls: 'fa fa-trash-o', hidden: !writable, ...needSelection, handler: () => { const row = selected(); if (row !== undefined) removeDomain(grid, row); } },
      '-',
      { text: gettext('Verify'), itemId: 'verify', iconCls: 'fa fa-check-square-o', hidden: !writable, ...needSelection, handler: () => { const row = selected(); if (row !== undefined) verifyDomain(grid, row); } },
    ],
    columns: [
      {
        text: gettext('Domain'),
        dataIndex: 'domain',
        flex: 2,
        renderer: (value: string, _meta: unknown, record: Ext.data.IModel) => {
          const unicode = String((record as Required<Ext.data.IModel>).get('domain-unicode'));
          const encoded = Ext.String.htmlEncode(value);
          return unicode === value ? encoded : `${Ext.String.htmlEncode(unicode)} <span class="pmx-hint">(${encoded})</span>`;
        },
      },
      { text: gettext('Site'), dataIndex: 'site', width: 110 },
      { text: gettext('CA'), dataIndex: 'acme-directory', flex: 1, renderer: (_value: string, _meta: unknown, record: Ext.data.IModel) => renderDirectory((record as Required<Ext.data.IModel>).getData() as DomainView) },
      {
        text: gettext('Certificates'),
        dataIndex: 'certificate-mode',
        width: 120,
        renderer: (value: string) => (value === 'wildcard' ? gettext('Wildcard') : gettext('Per service')),
      },
      { text: gettext('Status'), dataIndex: 'ready', width: 130, renderer: (_value: unknown, _meta: unknown, record: Ext.data.IModel) => renderDomainStatus((record as Required<Ext.data.IModel>).getData() as DomainView) },
      { text: gettext('Services'), dataIndex: 'services', width: 80, align: 'right' },
      { text: gettext('Nearest Expiry'), dataIndex: 'expiry', width: 250, renderer: (value: string | null) => renderExpiry(value) },
    ],
    listeners: {
      selectionchange: (_model: unknown, records: unknown[]) => {
        for (const id of ['edit', 'remove', 'verify']) child<Required<Ext.button.IButton>>(grid, id).setDisabled(records.length === 0);
      },
      itemdblclick: () => {
        if (writable) openEditor(grid, selected()?.domain);
      },
    },
  });
}

function startDomainGrid(grid: DomainGrid): void {
  refreshWhileVisible(grid, 30_000, () => loadDomains(grid));
}

// Records are identified by the API's key, so that a reload keeps the selection.
Ext.define('pve-domains-domain', { extend: 'Ext.data.Model', fields: ['domain'], idProperty: 'domain' });

Ext.define('PVEDomains.dc.DomainView', {
  extend: 'Ext.grid.Panel',
  alias: 'widget.pveDomainsDomainView',

  emptyText: gettext('No domains configured'),
  stateful: false,

  initComponent: function (this: DomainGrid, ...args: unknown[]) {
    configureDomainGrid(this);
    this.callParent(args);
    startDomainGrid(this);
  },

  reload: function (this: DomainGrid) {
    return loadDomains(this);
  },
});

