/**
 * What the logged-in user may see and change. The tab decisions use the login's `cap` object,
 * a union over all paths (pve-access-control `compute_api_permission`); the per-guest decision
 * asks pveproxy's `/access/permissions` for the guest's path. The daemon checks every call
 * itself, so these only decide what the UI offers.
 */

export function capabilities(): PveCapabilities {
  const caps = Ext.state.Manager.get('GuiCap') as PveCapabilities | undefined;
  return caps ?? {};
}

/** Sys.Audit on `/`: the Datacenter tab and the domain drop-down. */
export function canAuditDatacenter(): boolean {
  return capabilities().dc?.['Sys.Audit'] !== undefined;
}

/** Sys.Modify on `/`: adding, editing and removing domains, sites and certificates. */
export function canModifyDatacenter(): boolean {
  return capabilities().dc?.['Sys.Modify'] !== undefined;
}

/** VM.Audit on some guest: the Expose Service tab. */
export function canAuditGuests(): boolean {
  return capabilities().vms?.['VM.Audit'] !== undefined;
}

/**
 * Resolves true when the user may expose services of guest `vmid`: VM.Config.Network on
 * `/vms/<vmid>` (asked from pveproxy) and Sys.Audit on `/` (the daemon needs it to pick a domain).
 */
export function canExposeOn(vmid: number): Promise<boolean> {
  const path = `/vms/${vmid}`;
  return new Promise((resolve) => {
    if (!canAuditDatacenter()) {
      resolve(false);
      return;
    }
    Proxmox.Utils.API2Request({
      // A relative URL, as PVE's panels use: API2Request sends it in the extjs format it expects.
      url: '/access/permissions',
      method: 'GET',
      params: { path },
      success: (response) => {
        const tree = response.result.data as Record<string, Record<string, number>> | null;
        resolve(tree?.[path]?.['VM.Config.Network'] !== undefined);
      },
      failure: () => resolve(false),
    });
  });
}
