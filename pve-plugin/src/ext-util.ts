/**
 * Small typed helpers around ExtJS. The @types/extjs declarations mark most methods optional,
 * so components are narrowed here once with `Required<...>`.
 */
import { DaemonError, errorText, unreachableHtml } from './daemon-client.js';

export type Store = Required<Ext.data.IStore>;
export type Grid = Required<Ext.grid.IPanel>;
export type Form = Required<Ext.form.IBasic>;
export type Component = Required<Ext.IComponent>;

/** An object whose fields are reachable through `get`, as Ext records are. */
export interface RecordLike {
  get(field: string): unknown;
  getData(): Record<string, unknown>;
}

/** Returns the data of the grid's first selected record, or undefined. */
export function selectedRow<T>(grid: Ext.grid.IPanel): T | undefined {
  const model = (grid as Grid).getSelectionModel() as Required<Ext.selection.IModel>;
  const selected = model.getSelection() as unknown as RecordLike[];
  const first = selected[0];
  return first === undefined ? undefined : (first.getData() as unknown as T);
}

/**
 * Replaces the store's records with `rows`. The selection survives because the grids' models
 * name an idProperty, so the toolbar keeps its enabled state across refreshes.
 */
export function loadRows(grid: Ext.grid.IPanel, rows: readonly object[]): void {
  const store = (grid as Grid).getStore() as Store;
  store.loadData([...rows]);
}

/** Returns a form value as trimmed text; numbers are converted, anything else is ''. */
export function textValue(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return '';
}

/** Looks up a component by its itemId below `container`; throws when the layout lost it. */
export function child<T>(container: Ext.container.IContainer, itemId: string): T {
  const found = (container as Required<Ext.container.IContainer>).down(`#${itemId}`) as unknown;
  if (found === null || found === undefined) throw new Error(`component #${itemId} is missing`);
  return found as T;
}

/** Shows `err` on the notice bar of `owner` (unreachable daemon) or in PVE's error alert. */
export function showError(owner: NoticeOwner, err: unknown): void {
  if (err instanceof DaemonError && err.unreachable) {
    setNotice(owner, unreachableHtml(), 'critical');
    setUnreachableEmptyText(owner, true);
    return;
  }
  setNotice(owner, null);
  Ext.Msg.alert(gettext('Error'), Ext.String.htmlEncode(errorText(err)));
}

/** A grid whose empty text may be swapped while the daemon is unreachable. */
interface EmptyTextOwner {
  emptyText?: string;
  setEmptyText?(text: string): void;
  /** The grid's own empty text, kept while the unreachable text is shown. */
  pveDomainsEmptyText?: string;
}

/**
 * Shows, in an empty grid, that the daemon did not answer instead of the grid's own empty text
 * (such as "No domains configured"), which would claim that nothing exists; false restores it.
 */
export function setUnreachableEmptyText(owner: Ext.IComponent, unreachable: boolean): void {
  const grid = owner as EmptyTextOwner;
  if (typeof grid.setEmptyText !== 'function') return;
  if (unreachable) {
    if (grid.pveDomainsEmptyText === undefined) grid.pveDomainsEmptyText = grid.emptyText ?? '';
    grid.setEmptyText(Ext.String.htmlEncode(gettext('The External Domains daemon does not answer; see the message above.')));
    return;
  }
  if (grid.pveDomainsEmptyText === undefined) return;
  grid.setEmptyText(grid.pveDomainsEmptyText);
  grid.pveDomainsEmptyText = undefined;
}

/** A component with a docked notice bar made by `noticeBar()`. */
export type NoticeOwner = Ext.panel.IPanel;

/** Returns the config of a docked bar for messages above a grid, hidden until `setNotice` shows it. */
export function noticeBar(): object {
  return { xtype: 'component', dock: 'top', itemId: 'pveDomainsNotice', hidden: true, padding: 8, cls: 'pve-domains-notice' };
}

/** Shows `html` on the owner's notice bar, or hides the bar for null. */
export function setNotice(owner: NoticeOwner, html: string | null, level: 'critical' | 'warning' = 'warning'): void {
  const bar = (owner as Required<Ext.panel.IPanel>).down('#pveDomainsNotice') as Component | null;
  if (bar === null) return;
  if (html === null) {
    bar.hide();
    setUnreachableEmptyText(owner, false);
    return;
  }
  const icon = level === 'critical' ? 'fa fa-times-circle critical' : 'fa fa-exclamation-triangle warning';
  bar.update(`<i class="${icon}"></i> ${html}`);
  bar.show();
}

/**
 * Runs `work` every `intervalMs` while `component` is visible, starting now. Stops on hide and
 * on destroy, so that a left tab (PVE destroys it) makes no further calls.
 */
export function refreshWhileVisible(component: Ext.IComponent, intervalMs: number, work: () => Promise<void>): void {
  let timer: number | null = null;
  let running = false;
  const tick = (): void => {
    if (running || document.hidden) return;
    running = true;
    void work().finally(() => {
      running = false;
    });
  };
  const start = (): void => {
    if (timer !== null) return;
    tick();
    timer = window.setInterval(tick, intervalMs);
  };
  const stop = (): void => {
    if (timer === null) return;
    window.clearInterval(timer);
    timer = null;
  };
  const target = component as Component;
  target.on('show', start);
  target.on('activate', start);
  target.on('hide', stop);
  target.on('deactivate', stop);
  target.on('destroy', stop);
  if (target.isVisible()) start();
  else target.on('afterrender', start, undefined, { single: true });
}

/** Asks for confirmation in PVE's style and runs `action` on Yes. */
export function confirmAction(message: string, action: () => void): void {
  Ext.Msg.show({
    title: gettext('Confirm'),
    icon: Ext.Msg.WARNING,
    message,
    buttons: Ext.Msg.YESNO,
    defaultFocus: 'no',
    callback: (button: string) => {
      if (button === 'yes') action();
    },
  });
}

/** True once the component is destroyed (Ext 6 sets `destroyed`, older versions `isDestroyed`). */
export function isGone(component: Ext.IComponent): boolean {
  const flags = component as { destroyed?: boolean; isDestroyed?: boolean };
  return flags.destroyed === true || flags.isDestroyed === true;
}
