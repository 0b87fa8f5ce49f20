/**
 * The window shown after a service is saved: each step's state, polled until the service is
 * active (ready) or a step fails, which is shown with its message. The daemon keeps retrying a
 * failed step, so polling goes on until the window is closed or the service becomes active.
 */
import type { ServiceView } from './api-types.js';
import { callDaemon, errorText } from './daemon-client.js';
import { child, isGone } from './ext-util.js';
import { renderCondition, renderServiceAddress, serviceSteps, formatTime, stepTitle } from './render.js';

/** Poll interval while the window is open, in milliseconds. */
const pollMs = 1000;

function progressHtml(service: ServiceView): string {
  const rows = serviceSteps.map((type) => {
    const condition = service.conditions.find((item) => item.type === type);
    const message = condition === undefined ? gettext('waiting') : condition.message;
    return `<tr><td style="padding: 2px 12px 2px 0; white-space: nowrap">${renderCondition(condition, type)}</td><td>${Ext.String.htmlEncode(message)}</td></tr>`;
  });
  let summary: string;
  if (service.status === 'active') {
    summary = `<p><i class="fa fa-fw fa-check-circle good"></i> ${Ext.String.format(Ext.String.htmlEncode(gettext('Ready: {0}')), renderServiceAddress(service))}</p>`;
  } else if (service.status === 'error') {
    const failed = service.conditions.find((item) => item.status === 'false');
    const step = failed === undefined ? gettext('Setup') : stepTitle(failed.type);
    const message = failed?.message ?? service['last-error'] ?? '';
    const retry = service['next-retry'] === null ? '' : ` ${Ext.String.format(gettext('Next attempt: {0}.'), formatTime(service['next-retry']))}`;
    summary = `<p class="pve-domains-failed"><i class="fa fa-fw fa-times-circle critical"></i> ${Ext.String.htmlEncode(Ext.String.format(gettext('{0} failed: {1}'), step, message))}${Ext.String.htmlEncode(retry)}</p>`;
  } else {
    summary = `<p><i class="fa fa-fw fa-spinner fa-pulse"></i> ${Ext.String.htmlEncode(gettext('Setting up the service...'))}</p>`;
  }
  return `${summary}<table>${rows.join('')}</table>`;
}

/** Opens the progress window of service `fqdn`; `onChange` runs after every poll (grid reload). */
export function showServiceProgress(fqdn: string, onChange: () => void): void {
  const win = Ext.create('Ext.window.Window', {
    title: Ext.String.format(gettext('Expose Service: {0}'), fqdn),
    itemId: 'pveDomainsProgress',
    modal: true,
    width: 600,
    minHeight: 220,
    bodyPadding: 10,
    items: [{ xtype: 'component', itemId: 'progress', html: Ext.String.htmlEncode(gettext('Setting up the service...')) }],
    buttons: [{ text: gettext('Close'), itemId: 'close', handler: () => (win).close() }],
  }) as Required<Ext.window.IWindow>;
  let timer: number | null = null;
  const stop = (): void => {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
  };
  const poll = async (): Promise<void> => {
    timer = null;
    let done = false;
    try {
      const service = await callDaemon<ServiceView>('GET', `/services/${encodeURIComponent(fqdn)}`);
      if (isGone(win)) return;
      child<Required<Ext.IComponent>>(win, 'progress').update(progressHtml(service));
      done = service.status === 'active';
    } catch (err) {
      if (isGone(win)) return;
      child<Required<Ext.IComponent>>(win, 'progress').update(`<i class="fa fa-fw fa-times-circle critical"></i> ${Ext.String.htmlEncode(errorText(err))}`);
    }
    onChange();
    if (!done && !isGone(win)) timer = window.setTimeout(() => void poll(), pollMs);
  };
  win.on('destroy', stop);
  win.show();
  void poll();
}
