/** The window listing a service's recent events (`GET /services/{fqdn}/log`), newest first. */
import type { ServiceEvent } from './api-types.js';
import { callDaemon, errorText } from './daemon-client.js';
import { child, isGone, loadRows } from './ext-util.js';
import { formatTime } from './render.js';

function levelIcon(level: string): string {
  const icons: Record<string, string> = { info: 'fa-info-circle', warning: 'fa-exclamation-triangle warning', error: 'fa-times-circle critical' };
  return `<i class="fa fa-fw ${icons[level] ?? 'fa-info-circle'}"></i>`;
}

function sourceText(source: string): string {
  const texts: Record<string, string> = { audit: gettext('Change'), condition: gettext('Step'), retry: gettext('Retry') };
  return texts[source] ?? source;
}

export function showServiceLog(fqdn: string): void {
  const win = Ext.create('Ext.window.Window', {
    title: Ext.String.format(gettext('Events: {0}'), fqdn),
    itemId: 'pveDomainsLog',
    modal: true,
    width: 800,
    height: 400,
    layout: 'fit',
    items: [
      {
        xtype: 'grid',
        itemId: 'events',
        emptyText: gettext('No events'),
        store: { fields: ['time', 'source', 'level', 'subject', 'message', 'user'], data: [] },
        columns: [
          { text: gettext('Time'), dataIndex: 'time', width: 150, renderer: (value: string) => Ext.String.htmlEncode(formatTime(value)) },
          { text: gettext('Type'), dataIndex: 'source', width: 90, renderer: (value: string, _meta: unknown, record: Ext.data.IModel) => `${levelIcon(String((record as Required<Ext.data.IModel>).get('level')))} ${Ext.String.htmlEncode(sourceText(value))}` },
          { text: gettext('Subject'), dataIndex: 'subject', width: 130 },
          { text: gettext('User'), dataIndex: 'user', width: 120 },
          { text: gettext('Message'), dataIndex: 'message', flex: 1, cellWrap: true },
        ],
      },
    ],
    buttons: [
      { text: gettext('Reload'), iconCls: 'fa fa-refresh', handler: () => void load() },
      { text: gettext('Close'), handler: () => (win).close() },
    ],
  }) as Required<Ext.window.IWindow>;
  const load = async (): Promise<void> => {
    win.setLoading(true);
    try {
      const events = await callDaemon<ServiceEvent[]>('GET', `/services/${encodeURIComponent(fqdn)}/log`, undefined, { limit: '100' });
      if (!isGone(win)) loadRows(child<Ext.grid.IPanel>(win, 'events'), events);
    } catch (err) {
      if (!isGone(win)) Ext.Msg.alert(gettext('Error'), Ext.String.htmlEncode(errorText(err)));
    } finally {
      if (!isGone(win)) win.setLoading(false);
    }
  };
  win.show();
  void load();
}
