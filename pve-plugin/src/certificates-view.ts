/**
 * `PVEDomains.dc.CertificateView` (xtype `pveDomainsCertificateView`): the issued certificates
 * with expiry, next renewal and why, failures and the last error, and a Renew Now action.
 */
import type { CertificateView } from './api-types.js';
import { callDaemon } from './daemon-client.js';
import { child, confirmAction, isGone, loadRows, noticeBar, refreshWhileVisible, selectedRow, setNotice, showError } from './ext-util.js';
import { canModifyDatacenter } from './permissions.js';
import { renderExpiry, renderRenewal } from './render.js';
import { findNewestTask, showTaskLog, taskTitle, waitForNewTask } from './task-log.js';

interface CertificateGrid extends Required<Ext.grid.IPanel> {
  reload(): Promise<void>;
}

async function loadCertificates(grid: CertificateGrid): Promise<void> {
  try {
    const certificates = await callDaemon<CertificateView[]>('GET', '/certificates');
    if (isGone(grid)) return;
    setNotice(grid, null);
    loadRows(grid, certificates);
  } catch (err) {
    if (!isGone(grid)) showError(grid, err);
  }
}

function issuerHost(value: string): string {
  try {
    return new URL(value).host;
  } catch {
    return value;
  }
}

/** Task types of a certificate order: a renewal, or a first issue when nothing was issued yet. */
const orderTaskTypes = ['renew', 'issue'] as const;

/** Attempts, a second apart, to find the order's task; the daemon starts it in the background. */
const taskLookupAttempts = 10;

/** Requests a renewal, then opens the log of the task that runs it, or says where it will appear. */
async function renewNow(grid: CertificateGrid, id: string): Promise<void> {
  const previous = await findNewestTask(orderTaskTypes, id).catch(() => undefined);
  await callDaemon<CertificateView>('POST', `/certificates/${encodeURIComponent(id)}/renew`);
  void grid.reload();
  const task = await waitForNewTask(orderTaskTypes, id, previous, taskLookupAttempts).catch(() => undefined);
  if (isGone(grid)) return;
  if (task === undefined) {
    Ext.Msg.alert(gettext('Renew Now'), Ext.String.htmlEncode(gettext('The renewal was requested and runs in the background; its task appears under Datacenter → External Domains → Tasks.')));
    return;
  }
  showTaskLog(task.upid, taskTitle(task));
}

// Records are identified by the API's key, so that a reload keeps the selection.
Ext.define('pve-domains-certificate', { extend: 'Ext.data.Model', fields: ['id'], idProperty: 'id' });

function configureCertificateGrid(grid: CertificateGrid): void {
  const writable = canModifyDatacenter();
  const record = (value: Ext.data.IModel): CertificateView => (value as Required<Ext.data.IModel>).getData() as CertificateView;
  Ext.apply(grid, {
    store: { model: 'pve-domains-certificate', sorters: 'id', data: [] },
    dockedItems: [noticeBar()],
    tbar: [
      {
        text: gettext('Renew Now'),
        itemId: 'renew',
        iconCls: 'fa fa-refresh',
        hidden: !writable,
        disabled: true,
        handler: () => {
          const certificate = selectedRow<CertificateView>(grid);
          if (certificate === undefined) return;
          confirmAction(Ext.String.format(gettext('Order a new certificate for {0} now?'), `<b>${Ext.String.htmlEncode(certificate.names.join(', '))}</b>`), () => {
            renewNow(grid, certificate.id).catch((err: unknown) => showError(grid, err));
          });
        },
      },
    ],
    columns: [
      { text: gettext('Names'), dataIndex: 'names', flex: 2, renderer: (value: string[]) => value.map((name) => Ext.String.htmlEncode(name)).join(', ') },
      { text: gettext('Issuer'), dataIndex: 'issuer', flex: 1, renderer: (value: string) => Ext.String.htmlEncode(issuerHost(value)) },
      { text: gettext('Expires'), dataIndex: 'not-after', width: 250, renderer: (value: string) => renderExpiry(value) },
      { text: gettext('Next Renewal'), dataIndex: 'next-renewal', width: 270, renderer: (_value: unknown, _meta: unknown, item: Ext.data.IModel) => renderRenewal(record(item)) },
      { text: gettext('Failures'), dataIndex: 'failures', width: 80, align: 'right' },
      {
        text: gettext('Last Error'),
        dataIndex: 'last-error',
        flex: 2,
        renderer: (value: string | null, _meta: unknown, item: Ext.data.IModel) => {
          const warning = record(item).warning;
          const text = [value, warning].filter((part): part is string => part !== null && part !== '').join(' — ');
          return text === '' ? '' : `<span data-qtip="${Ext.String.htmlEncode(Ext.String.htmlEncode(text))}"><i class="fa fa-fw fa-exclamation-triangle warning"></i> ${Ext.String.htmlEncode(text)}</span>`;
        },
      },
    ],
    listeners: {
      selectionchange: (_model: unknown, records: unknown[]) => child<Required<Ext.button.IButton>>(grid, 'renew').setDisabled(records.length === 0),
    },
  });
}

function startCertificateGrid(grid: CertificateGrid): void {
  refreshWhileVisible(grid, 30_000, () => loadCertificates(grid));
}

Ext.define('PVEDomains.dc.CertificateView', {
  extend: 'Ext.grid.Panel',
  alias: 'widget.pveDomainsCertificateView',

  emptyText: gettext('No certificates issued yet'),

  initComponent: function (this: CertificateGrid, ...args: unknown[]) {
    configureCertificateGrid(this);
    this.callParent(args);
    startCertificateGrid(this);
  },

  reload: function (this: CertificateGrid) {
    return loadCertificates(this);
  },
});
