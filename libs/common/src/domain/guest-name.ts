// The name a hypervisor knows a guest by (Nova's instance.name), shared by the API views and the drivers.

export function guestName(instanceUuid: string): string {
  return `instance-${instanceUuid.replace(/-/g, '').slice(0, 8)}`;
}

/**
 * The name a source's domain carries while a live migration holds it (Xen renames the domain before it is sent): a
 * guest still running under it after the move ended is the Xen freeze failure, and `cleanup` renames it back.
 */
export function migratingGuestName(instanceUuid: string): string {
  return `migrating-${guestName(instanceUuid)}`;
}
