// What one host's driver sees, for `ferry audit`: every instance it holds anything of, with the guest's presence, its
// power state and name when a VM is defined, and whether its disk is there. Read only.
import { access } from 'node:fs/promises';
import type { HostGuest } from '../client/wire-types';
import type { Driver } from '../drivers';

export async function listGuests(driver: Driver): Promise<HostGuest[]> {
  const vms = new Map((await driver.listVms()).map((vm) => [vm.uuid, vm]));
  const uuids = [...new Set([...(await driver.listHeldInstances()), ...vms.keys()])].sort();
  return Promise.all(uuids.map(async (uuid) => {
    const vm = vms.get(uuid);
    return {
      uuid,
      name: vm?.name ?? null,
      presence: await driver.guestPresence(uuid),
      power_state: vm?.power_state ?? null,
      has_disk: await access(driver.diskPath(uuid)).then(() => true, () => false),
      ...(vm?.transient ? { transient: true as const } : {}),
    };
  }));
}
