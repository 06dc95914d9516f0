// What one host's driver sees, for `ferry audit`: every instance it holds anything of, with the guest's presence, its
// power state and name when a VM is defined, and whether its disk is there. Read only.
import { access } from 'node:fs/promises';
import type { PowerState } from '@ferry/common/domain';
import type { Driver, GuestPresence } from '../drivers';

export interface HostGuest {
  uuid: string;
  /** The hypervisor's name for the VM; null when no VM is defined (only files). */
  name: string | null;
  presence: GuestPresence;
  /** Null when no VM is defined. */
  power_state: PowerState | null;
  has_disk: boolean;
  /** Set when the guest runs from memory with no definition written on the host. */
  transient?: true;
}

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
