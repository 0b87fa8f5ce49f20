/**
 * `PVEDomains.guest.ServiceView` (xtype `pveDomainsServiceView`): a container's or VM's Expose
 * Service tab. It lists the guest's services with their live status, refreshed while the tab is
 * visible; users who may change the guest's network get Add, Edit and Remove.
 */
import type { ServiceView } from './api-types.js';
import { callDaemon } from './daemon-client.js';
import { child, confirmAction, isGone, loadRows, noticeBar, refreshWhileVisible, selectedRow, setNotice, showError } from './ext-util.js';
import { canExposeOn } from './permissions.js';
import { protocolText, renderExpiry, renderHealth, renderServiceAddress, renderServiceStatus, renderServiceSteps } from './render.js';
import { showServiceLog } from './service-log.js';
import { showServiceProgress } from './service-progress.js';

/** Refresh interval of the grid while visible, in milliseconds. */
const refreshMs = 5000;

interface ServiceGrid extends Required<Ext.grid.IPanel> {
  pveSelNode: PveSelNode;
  vmid: number;
  reload(): Promise<void>;
}

/** A guest's service: its first target is the guest, or one of its further targets is. */
function belongsTo(service: ServiceView & { targets?: Array<{ vmid: number }> }, vmid: number): boolean {
  return service.vmid === vmid || (service.targets ?? []).some((target) => target.vmid === vmid);
}

async function loadServices(grid: ServiceGrid): Promise<void> {
  try {
    const services = await callDaemon<ServiceView[]>('GET', '/services');
    if (isGone(grid)) return;
    setNotice(grid, null);
    loadRows(grid, services.filter((service) => belongsTo(service, grid.vmid)));
  } catch (err) {
    if (!isGone(grid)) showError(grid, err);
  }
}

function openEditor(grid: ServiceGrid, fqdn: string | undefined): void {
  const win = Ext.create('PVEDomains.window.ServiceEdit', { vmid: grid.vmid, fqdn }) as Required<Ext.window.IWindow>;
  win.on('saved', (data: unknown) => {
    void grid.reload();
    const saved = data as ServiceView;
    showServiceProgress(saved.fqdn, () => {
      if (!isGone(grid)) void grid.reload();
    });
  });
  win.show();
}

function removeService(grid: ServiceGrid, service: ServiceView): void {
  const message = Ext.String.format(
    gettext('Are you sure you want to remove {0}? Its DNS records, certificate and route are removed too.'),
    `<b>${Ext.String.htmlEncode(service.fqdn)}</b>`,
  );
  confirmAction(message, () => {
    callDaemon<unknown>('DELETE', `/services/${encodeURIComponent(service.fqdn)}`)
      .then(() => grid.reload())
      .catch((err: unknown) => showError(grid, err));
  });
}

// Records are identified by the API's key, so that a reload keeps the selection.
Ext.define('pve-domains-service', { extend: 'Ext.data.Model', fields: ['fqdn'], idProperty: 'fqdn' });

function configureServiceGrid(grid: ServiceGrid): void {
  const vmid = grid.pveSelNode.data.vmid;
  if (vmid === undefined) throw new Error('pveDomainsServiceView needs pveSelNode with a vmid');
  grid.vmid = vmid;
  const selected = (): ServiceView | undefined => selectedRow<ServiceView>(grid);
  const record = (value: Ext.data.IModel): ServiceView => (value as Required<Ext.data.IModel>).getData() as ServiceView;

  Ext.apply(grid, {
    store: { model: 'pve-domains-service', sorters: 'fqdn', data: [] },
    dockedItems: [noticeBar()],
    tbar: [
      { text: gettext('Add'), itemId: 'add', iconCls: 'fa fa-plus', hidden: true, handler: () => openEditor(grid, undefined) },
      { text: gettext('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', hidden: true, disabled: true, handler: () => openEditor(grid, selected()?.fqdn) },
      {
        text: gettext('Remove'),
        itemId: 'remove',
        iconCls: 'fa fa-trash-o',
        hidden: true,
        disabled: true,
        handler: () => {
          const service = selected();
          if (service !== undefined) removeService(grid, service);
        },
      },
      '-',
      {
        text: gettext('Log'),
        itemId: 'log',
        iconCls: 'fa fa-list',
        disabled: true,
        handler: () => {
          const service = selected();
          if (service !== undefined) showServiceLog(service.fqdn);
        },
      },
      '->',
      { xtype: 'component', itemId: 'readonly', hidden: true, html: `<i class="fa fa-fw fa-lock"></i> ${Ext.String.htmlEncode(gettext('Read only'))}` },
    ],
    columns: [
      { text: gettext('Address'), dataIndex: 'fqdn', flex: 2, renderer: (_value: string, _meta: unknown, item: Ext.data.IModel) => renderServiceAddress(record(item)) },
      { text: gettext('Protocol'), dataIndex: 'protocol', width: 100, renderer: (_value: string, _meta: unknown, item: Ext.data.IModel) => Ext.String.htmlEncode(protocolText(record(item))) },
      { text: gettext('Port'), dataIndex: 'port', width: 70, align: 'right' },
      { text: gettext('Status'), dataIndex: 'status', width: 110, renderer: (_value: unknown, _meta: unknown, item: Ext.data.IModel) => renderServiceStatus(record(item)) },
      { text: gettext('Steps'), dataIndex: 'conditions', flex: 3, renderer: (_value: unknown, _meta: unknown, item: Ext.data.IModel) => renderServiceSteps(record(item)) },
      { text: gettext('Backend'), dataIndex: 'live', width: 110, renderer: (_value: unknown, _meta: unknown, item: Ext.data.IModel) => renderHealth(record(item)) },
      {
        text: gettext('Certificate Expiry'),
        dataIndex: 'certificate',
        width: 250,
        renderer: (value: ServiceView['certificate']) => (value === null ? '' : renderExpiry(value['not-after'])),
      },
    ],
    listeners: {
      selectionchange: (_model: unknown, records: unknown[]) => {
        for (const id of ['edit', 'remove', 'log']) child<Required<Ext.button.IButton>>(grid, id).setDisabled(records.length === 0);
      },
    },
  });
}

function startServiceGrid(grid: ServiceGrid): void {
  void canExposeOn(grid.vmid).then((writable) => {
    if (isGone(grid)) return;
    for (const id of ['add', 'edit', 'remove']) child<Required<Ext.button.IButton>>(grid, id).setVisible(writable);
    child<Required<Ext.IComponent>>(grid, 'readonly').setVisible(!writable);
    if (writable) grid.on('itemdblclick', () => openEditor(grid, selectedRow<ServiceView>(grid)?.fqdn));
  });
  refreshWhileVisible(grid, refreshMs, () => loadServices(grid));
}

Ext.define('PVEDomains.guest.ServiceView', {
  extend: 'Ext.grid.Panel',
  alias: 'widget.pveDomainsServiceView',

  emptyText: gettext('No services exposed'),

  initComponent: function (this: ServiceGrid, ...args: unknown[]) {
    configureServiceGrid(this);
    this.callParent(args);
    startServiceGrid(this);
  },

  reload: function (this: ServiceGrid) {
    return loadServices(this);
  },
});
