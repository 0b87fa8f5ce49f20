/**
 * `PVEDomains.window.DaemonEdit`: PVE's edit window (`Proxmox.window.Edit`) writing to the daemon
 * instead of pveproxy. Subclasses set `daemonPath`, `method` and the two value converters; field
 * errors of the API's `errors` object are marked on the fields, as the toolkit's window does.
 */
import { callDaemon, DaemonError, errorText, type Method } from './daemon-client.js';
import type { Form } from './ext-util.js';

export interface DaemonEditWindow extends ProxmoxEditWindow {
  /** API path written on submit, such as `/domains` or `/domains/example.com`. */
  daemonPath: string;
  method: Method;
  /** API path read into the form when the window opens; none for a create window. */
  loadPath?: string;
  /** Converts the form's values into the request body. */
  toRequest(values: Record<string, unknown>): Record<string, unknown>;
  /** Converts the loaded object into form values. */
  toForm(data: unknown): Record<string, unknown>;
  /** Maps a key of the API's `errors` object to a form field name, or undefined to mark none. */
  errorField(key: string, message: string): string | undefined;
  /** Called with the response data after a successful submit; closes the window by default. */
  onSaved(data: unknown): void;
  /** Fires `saved` on the window, for grids that reload. */
  fireEvent(name: string, ...args: unknown[]): boolean;
  loadFromDaemon(): Promise<void>;
}

function form(win: DaemonEditWindow): Form {
  return (win.formPanel as Required<Ext.form.IPanel>).getForm() as Form;
}

/** Marks the API's field errors on the form; returns how many fields were marked. */
export function markFieldErrors(win: DaemonEditWindow, errors: Record<string, string>): number {
  const marks: Record<string, string> = {};
  for (const [key, message] of Object.entries(errors)) {
    const name = win.errorField(key, message);
    if (name === undefined) continue;
    const field = form(win).findField(name) as Required<Ext.form.field.IBase> | null;
    if (field === null) continue;
    marks[name] = marks[name] === undefined ? message : `${marks[name]}<br>${message}`;
  }
  for (const [name, message] of Object.entries(marks)) (form(win).findField(name) as Required<Ext.form.field.IBase>).markInvalid(message);
  return Object.keys(marks).length;
}

Ext.define('PVEDomains.window.DaemonEdit', {
  extend: 'Proxmox.window.Edit',
  alias: 'widget.pveDomainsDaemonEdit',

  daemonPath: '',
  method: 'POST',
  loadPath: undefined,

  initComponent: function (this: DaemonEditWindow, ...args: unknown[]) {
    // The toolkit's window insists on a URL; it is never called because submit is replaced.
    this.url = this.daemonPath;
    this.callParent(args);
    if (this.loadPath !== undefined) void this.loadFromDaemon();
  },

  toRequest: (values: Record<string, unknown>) => values,
  toForm: (data: unknown) => data as Record<string, unknown>,
  errorField: (key: string) => key,

  onSaved: function (this: DaemonEditWindow, data: unknown) {
    this.fireEvent('saved', data);
    this.close();
  },

  loadFromDaemon: async function (this: DaemonEditWindow) {
    if (this.loadPath === undefined) return;
    const self = this as unknown as Required<Ext.window.IWindow>;
    self.setLoading(true);
    try {
      const data = await callDaemon<unknown>('GET', this.loadPath);
      const basic = form(this);
      basic.setValues(this.toForm(data));
      (basic.getFields() as Required<Ext.util.IMixedCollection>).each((field: Required<Ext.form.field.IBase>) => {
        field.resetOriginalValue();
        return true;
      });
    } catch (err) {
      Ext.Msg.alert(gettext('Error'), Ext.String.htmlEncode(errorText(err)));
      this.close();
      return;
    } finally {
      self.setLoading(false);
    }
  },

  submit: function (this: DaemonEditWindow) {
    const basic = form(this);
    if (!basic.isValid()) return;
    const body = this.toRequest(basic.getValues(false, false, false, true) as Record<string, unknown>);
    const self = this as unknown as Required<Ext.window.IWindow>;
    self.setLoading(gettext('Please wait...'));
    callDaemon<unknown>(this.method, this.daemonPath, body)
      .then((data) => {
        self.setLoading(false);
        this.onSaved(data);
      })
      .catch((err: unknown) => {
        self.setLoading(false);
        if (err instanceof DaemonError) markFieldErrors(this, err.errors);
        Ext.Msg.alert(gettext('Error'), Ext.String.htmlEncode(errorText(err)));
      });
  },
});
