/**
 * The classes and globals of PVE's web UI (pve-manager 9, proxmox-widget-toolkit 5) that this
 * plugin uses, and nothing more. The test page's stand-in (test/ui/pve-shell-stub.js) defines
 * exactly these.
 */

/** Translates a UI string; PVE's index page defines it, as a no-op when no language file is loaded. */
declare function gettext(text: string): string;

/** Options of `Proxmox.Utils.API2Request`, the widget toolkit's call to pveproxy. */
interface ProxmoxRequestOptions {
  /** A `/api2/json/...` path on pveproxy. */
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  params?: Record<string, string | number>;
  success?: (response: { result: { data: unknown } }) => void;
  failure?: (response: { htmlStatus: string; status: number }) => void;
}

declare namespace Proxmox {
  /** The logged-in user, `user@realm`. */
  const UserName: string;
  /** CSRF token of the session; the literal string `null` before login. */
  const CSRFPreventionToken: string;

  namespace Utils {
    function API2Request(options: ProxmoxRequestOptions): void;
  }
}

/**
 * The part of `Proxmox.window.Edit` (xtype `proxmoxWindowEdit`) that the plugin's windows rely
 * on: the title from `subject` and `isCreate`, OK/Reset buttons that call `submit()`, and the
 * form panel. The plugin replaces `submit()` because the window's own one calls pveproxy.
 */
interface ProxmoxEditWindow extends Required<Ext.window.IWindow> {
  subject: string;
  isCreate: boolean;
  /** With `isCreate`: titles the window "Add: <subject>" and its button Add, instead of Create. */
  isAdd: boolean;
  /** Required by the toolkit's window; the plugin sets the daemon path it writes to. */
  url: string;
  formPanel: Ext.form.IPanel;
  submit(): void;
}

/** A tab of `PVE.panel.Config`: a plain config object, created when its tree entry is selected. */
interface PveConfigItem {
  xtype: string;
  itemId: string;
  title: string;
  iconCls?: string;
  groups?: string[];
  onlineHelp?: string;
  [property: string]: unknown;
}

/** A resource tree node as PVE passes it to config panels (`pveSelNode`). */
interface PveSelNode {
  data: { node: string; vmid?: number; name?: string; type: string };
}

/** The fields of `PVE.panel.Config` that the override reads, before the base class consumes `items`. */
interface PveConfigPanel {
  /** `PVE.dc.Config`, `PVE.lxc.Config`, `PVE.qemu.Config`, ... */
  $className: string;
  items: PveConfigItem[];
  pveSelNode?: PveSelNode;
  callParent(args: unknown[]): void;
}

/** The `cap` object of the login, stored by PVE's workspace under the state key `GuiCap`. */
interface PveCapabilities {
  dc?: Record<string, number>;
  vms?: Record<string, number>;
  nodes?: Record<string, number>;
}
