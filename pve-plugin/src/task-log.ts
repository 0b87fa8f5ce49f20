/**
 * The window of one task's log (`GET /tasks/{upid}/log`), in the manner of PVE's task viewer:
 * the lines and the task's status, reloaded every second while the task runs.
 */
import type { TaskLogLine, TaskStatus, TaskView } from './api-types.js';
import { callDaemon, errorText } from './daemon-client.js';
import { child, isGone, loadRows } from './ext-util.js';

/** Reload interval of a running task's log, in milliseconds. */
const pollMs = 1000;

/** Lines read per call, the log route's maximum. The daemon keeps 1000 lines per task by default, so one call reads a whole log. */
const lineLimit = '5000';

/** Returns the translated title of a task type. */
export function taskTypeText(type: string): string {
  const texts: Record<string, string> = {
    verify: gettext('Verify domain'),
    issue: gettext('Issue certificate'),
    renew: gettext('Renew certificate'),
  };
  return texts[type] ?? type;
}

/** Renders a task's exit status as PVE's task list does: OK plain, running with a spinner, an error in red. */
export function renderTaskStatus(status: string): string {
  if (status === 'running') return `<i class="fa fa-fw fa-spinner fa-pulse"></i> ${Ext.String.htmlEncode(gettext('running'))}`;
  if (status === 'OK') return Ext.String.htmlEncode(gettext('OK'));
  return `<i class="fa fa-fw fa-times-circle critical"></i> ${Ext.String.htmlEncode(status)}`;
}

function statusText(status: TaskStatus): string {
  if (status.status === 'running') return renderTaskStatus('running');
  return renderTaskStatus(status.exitstatus ?? gettext('unknown'));
}

/** Opens the log window of task `upid`; `title` names the task's type and object. */
export function showTaskLog(upid: string, title: string): void {
  const win = Ext.create('Ext.window.Window', {
    title: Ext.String.format(gettext('Task viewer: {0}'), title),
    itemId: 'pveDomainsTaskLog',
    modal: true,
    width: 800,
    height: 400,
    layout: 'fit',
    tbar: [{ xtype: 'component', itemId: 'status', html: '' }],
    items: [
      {
        xtype: 'grid',
        itemId: 'lines',
        hideHeaders: true,
        emptyText: gettext('No output yet'),
        store: { fields: ['n', 't'], data: [] },
        columns: [{ text: gettext('Output'), dataIndex: 't', flex: 1, cellWrap: true, renderer: (value: string) => `<span style="font-family: monospace">${Ext.String.htmlEncode(value)}</span>` }],
      },
    ],
    buttons: [{ text: gettext('Close'), handler: () => win.close() }],
  }) as Required<Ext.window.IWindow>;

  let timer: number | null = null;
  const poll = async (): Promise<void> => {
    timer = null;
    let running = false;
    try {
      const status = await callDaemon<TaskStatus>('GET', `/tasks/${encodeURIComponent(upid)}/status`);
      const lines = await callDaemon<TaskLogLine[]>('GET', `/tasks/${encodeURIComponent(upid)}/log`, undefined, { limit: lineLimit });
      if (isGone(win)) return;
      child<Required<Ext.IComponent>>(win, 'status').update(`${Ext.String.htmlEncode(gettext('Status'))}: ${statusText(status)}`);
      loadRows(child<Ext.grid.IPanel>(win, 'lines'), lines);
      running = status.status === 'running';
    } catch (err) {
      if (isGone(win)) return;
      child<Required<Ext.IComponent>>(win, 'status').update(`<i class="fa fa-fw fa-times-circle critical"></i> ${Ext.String.htmlEncode(errorText(err))}`);
    }
    if (running && !isGone(win)) timer = window.setTimeout(() => void poll(), pollMs);
  };
  win.on('destroy', () => {
    if (timer !== null) window.clearTimeout(timer);
  });
  win.show();
  void poll();
}

/** Returns the title of a task as its log window shows it, such as "Verify domain example.com". */
export function taskTitle(task: Pick<TaskView, 'type' | 'id'>): string {
  return `${taskTypeText(task.type)} ${task.id}`;
}

/** Returns the newest task of one of `types` on object `id`, or undefined. */
export async function findNewestTask(types: ReadonlyArray<TaskView['type']>, id: string): Promise<TaskView | undefined> {
  const tasks = await callDaemon<TaskView[]>('GET', '/tasks', undefined, { limit: '100' });
  return tasks.find((task) => types.includes(task.type) && task.id === id);
}

/**
 * Waits for a task of one of `types` on object `id` that is newer than `previous` (the newest
 * such task before the action), asking up to `attempts` times a second apart. The actions that
 * start tasks do not return the task id, and comparing ids instead of start times keeps a skewed
 * browser clock out of it.
 */
export async function waitForNewTask(types: ReadonlyArray<TaskView['type']>, id: string, previous: TaskView | undefined, attempts: number): Promise<TaskView | undefined> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => window.setTimeout(resolve, pollMs));
    const newest = await findNewestTask(types, id);
    if (newest !== undefined && newest.upid !== previous?.upid) return newest;
  }
  return undefined;
}
