// The name a hypervisor knows a guest by (Nova's instance.name), shared by the API views and the drivers.

export function guestName(instanceUuid: string): string {
  return `instance-${instanceUuid.replace(/-/g, '').slice(0, 8)}`;
}
