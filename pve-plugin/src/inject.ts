/**
 * Adds the plugin's tabs to PVE's config panels. `PVE.panel.Config.initComponent` runs after a
 * subclass (`PVE.dc.Config`, `PVE.lxc.Config`, `PVE.qemu.Config`) has filled `items` and before
 * the base class turns them into tree entries, so an override of the base method reads the full
 * list and can insert next to PVE's own firewall entries (pve-manager 8 and 9,
 * `www/manager6/panel/ConfigPanel.js`). PVE's own files are never changed.
 */
import { canAuditDatacenter, canAuditGuests } from './permissions.js';

/** itemIds of the plugin's tree entries; they are stored in PVE's history state, so they must stay stable. */
export const itemIds = {
  domains: 'pve-domains',
  sites: 'pve-domains-sites',
  certificates: 'pve-domains-certificates',
  tasks: 'pve-domains-tasks',
  services: 'pve-domains-services',
} as const;

function datacenterItems(): PveConfigItem[] {
  return [
    { xtype: 'pveDomainsDomainView', title: gettext('External Domains'), iconCls: 'fa fa-globe', itemId: itemIds.domains },
    { xtype: 'pveDomainsSiteView', title: gettext('Sites'), iconCls: 'fa fa-map-marker', itemId: itemIds.sites, groups: [itemIds.domains] },
    { xtype: 'pveDomainsCertificateView', title: gettext('Certificates'), iconCls: 'fa fa-certificate', itemId: itemIds.certificates, groups: [itemIds.domains] },
    { xtype: 'pveDomainsTaskView', title: gettext('Tasks'), iconCls: 'fa fa-list-alt', itemId: itemIds.tasks, groups: [itemIds.domains] },
  ];
}

function guestItems(): PveConfigItem[] {
  return [{ xtype: 'pveDomainsServiceView', title: gettext('Expose Service'), iconCls: 'fa fa-globe', itemId: itemIds.services }];
}

/** Inserts `added` before the first item whose itemId is `anchor`, or appends them. */
export function insertBefore(items: PveConfigItem[], anchor: string, added: PveConfigItem[]): void {
  const index = items.findIndex((item) => item.itemId === anchor);
  if (index === -1) items.push(...added);
  else items.splice(index, 0, ...added);
}

/** Returns the items the plugin adds to a config panel of class `className`, for the current user. */
export function pluginItems(className: string): PveConfigItem[] {
  if (className === 'PVE.dc.Config') return canAuditDatacenter() ? datacenterItems() : [];
  if (className === 'PVE.lxc.Config' || className === 'PVE.qemu.Config') return canAuditGuests() ? guestItems() : [];
  return [];
}

Ext.define('PVEDomains.panel.ConfigOverride', {
  override: 'PVE.panel.Config',

  initComponent: function (this: PveConfigPanel, ...args: unknown[]) {
    const added = pluginItems(this.$className);
    if (added.length > 0 && Array.isArray(this.items) && !this.items.some((item) => item.itemId === itemIds.domains || item.itemId === itemIds.services)) {
      insertBefore(this.items, 'firewall', added);
    }
    this.callParent(args);
  },
});
