/**
 * `PVEDomains.dc.TaskView` (xtype `pveDomainsTaskView`): Datacenter → External Domains → Tasks.
 * The daemon's tasks (domain checks, certificate orders and renewals) of this node, newest first,
 * in the columns of PVE's task list; View or a double-click opens the task's log.
 */
import type { TaskView } from './api-types.js';
import { callDaemon } from './daemon-client.js';
import { child, isGone, loadRows, noticeBar, refreshWhileVisible, selectedRow, setNotice, showError } from './ext-util.js';
import { renderTaskStatus, showTaskLog, taskTitle, taskTypeText } from './task-log.js';

/** Refresh interval of the grid while visible, in milliseconds. */
const refreshMs = 10_000;

/** Tasks listed; the daemon keeps 200 finished tasks by default. */
const listLimit = '500';

interface TaskGrid extends Required<Ext.grid.IPanel> {
  reload(): Promise<void>;
}

async function loadTasks(grid: TaskGrid): Promise<void> {
  try {
    const tasks = await callDaemon<TaskView[]>('GET', '/tasks', undefined, { limit: listLimit });
    if (isGone(grid)) return;
    setNotice(grid, null);
    loadRows(grid, tasks);
  } catch (err) {
    if (!isGone(grid)) showError(grid, err);
  }
}

/** Formats Unix seconds in the browser's time zone, as PVE's task list does. */
function renderUnixTime(value: number | undefined): string {
  if (typeof value !== 'number') return '';
  return Ext.Date.format(new Date(value * 1000), 'M d H:i:s');
}

function openSelected(grid: TaskGrid): void {
  const task = selectedRow<TaskView>(grid);
  if (task !== undefined) showTaskLog(task.upid, taskTitle(task));
}

// Records are identified by the API's key, so that a reload keeps the selection.
Ext.define('pve-domains-task', { extend: 'Ext.data.Model', fields: ['upid'], idProperty: 'upid' });

function configureTaskGrid(grid: TaskGrid): void {
  Ext.apply(grid, {
    store: { model: 'pve-domains-task', sorters: { property: 'starttime', direction: 'DESC' }, data: [] },
    dockedItems: [noticeBar()],
    tbar: [
      { text: gettext('View'), itemId: 'view', disabled: true, handler: () => openSelected(grid) },
      '->',
      { text: gettext('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: () => void grid.reload() },
    ],
    columns: [
      { text: gettext('Start Time'), dataIndex: 'starttime', width: 130, renderer: (value: number) => renderUnixTime(value) },
      { text: gettext('End Time'), dataIndex: 'endtime', width: 130, renderer: (value: number | undefined) => renderUnixTime(value) },
      { text: gettext('Node'), dataIndex: 'node', width: 100 },
      { text: gettext('User name'), dataIndex: 'user', width: 130 },
      { text: gettext('Description'), dataIndex: 'type', flex: 1, renderer: (value: string, _meta: unknown, record: Ext.data.IModel) => `${Ext.String.htmlEncode(taskTypeText(value))} ${Ext.String.htmlEncode(String((record as Required<Ext.data.IModel>).get('id')))}` },
      { text: gettext('Status'), dataIndex: 'status', flex: 1, renderer: (value: string) => renderTaskStatus(value) },
    ],
    listeners: {
      selectionchange: (_model: unknown, records: unknown[]) => child<Required<Ext.button.IButton>>(grid, 'view').setDisabled(records.length === 0),
      itemdblclick: () => openSelected(grid),
    },
  });
}

Ext.define('PVEDomains.dc.TaskView', {
  extend: 'Ext.grid.Panel',
  alias: 'widget.pveDomainsTaskView',

  emptyText: gettext('No tasks'),

  initComponent: function (this: TaskGrid, ...args: unknown[]) {
    configureTaskGrid(this);
    this.callParent(args);
    refreshWhileVisible(this, refreshMs, () => loadTasks(this));
  },

  reload: function (this: TaskGrid) {
    return loadTasks(this);
  },
});
