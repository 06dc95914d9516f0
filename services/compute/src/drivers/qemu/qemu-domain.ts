// A VM as a qemu host defines it (what the database said when it was defined), its drives, and QEMU's run states as
// Nova sees them.
import { POWER_STATES, type PowerState } from '@ferry/common/domain';
import type { VmSpec } from '../driver';
import type { GuestPresence, MigrationCookie } from '../../client/wire-types';

/** The definition of a VM as this host keeps it: what the database said when it was (re)defined. */
export interface Domain {
  uuid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  image_ref: string;
  rescue_image_ref: string | null;
  /** Set from Prepare until Finish: the VM is an incoming live migration's, and never ran here. */
  incoming?: IncomingMigration | null;
}

export interface IncomingMigration {
  from: string;
  shared_storage: boolean;
  block: boolean;
  port?: number;
  nbd_port?: number;
}

export type QemuState = 'running' | 'paused' | 'incoming' | 'shutdown' | 'crashed' | 'suspended';

/** QEMU's run states (query-status), as a Nova power state sees them. */
export const STATE_OF_STATUS: Record<string, QemuState> = {
  running: 'running', paused: 'paused', 'io-error': 'paused', 'save-vm': 'paused', 'restore-vm': 'paused', 'finish-migrate': 'paused',
  postmigrate: 'paused', prelaunch: 'paused', debug: 'paused', watchdog: 'paused', colo: 'paused', inmigrate: 'incoming',
  shutdown: 'shutdown', 'internal-error': 'crashed', 'guest-panicked': 'crashed', suspended: 'suspended',
};

export const POWER_STATE_OF: Record<QemuState, PowerState> = {
  running: POWER_STATES.RUNNING, paused: POWER_STATES.PAUSED, incoming: POWER_STATES.PAUSED, shutdown: POWER_STATES.SHUTDOWN,
  crashed: POWER_STATES.CRASHED, suspended: POWER_STATES.SUSPENDED,
};

export const PRESENCE_OF: Record<QemuState, GuestPresence> = {
  running: 'running', paused: 'paused', incoming: 'incoming', shutdown: 'stopped', crashed: 'stopped', suspended: 'stopped',
};

export const ROOT_DRIVE = 'root';
export const RESCUE_DRIVE = 'rescue';

export function domainOf(spec: VmSpec): Domain {
  return {
    uuid: spec.uuid, name: spec.name, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb, root_gb: spec.flavor.root_gb,
    image_ref: spec.image_ref, rescue_image_ref: null,
  };
}

/** The VM's drives in boot order, each with the image its overlay is over. */
export function domainDrives(domain: Domain): { id: string; imageRef: string }[] {
  const root = { id: ROOT_DRIVE, imageRef: domain.image_ref };
  return domain.rescue_image_ref ? [{ id: RESCUE_DRIVE, imageRef: domain.rescue_image_ref }, root] : [root];
}

/** The drives a source's cookie names, with the size each must have at the destination. */
export function drivesOf(cookie: MigrationCookie): Map<string, number> {
  const drives = Array.isArray(cookie.drives) ? (cookie.drives as { id: unknown; virtual_size: unknown }[]) : [];
  return new Map(drives.flatMap((d) => (typeof d.id === 'string' && typeof d.virtual_size === 'number' ? [[d.id, d.virtual_size] as const] : [])));
}

/** The root disk's size argument for qemu-img: the flavor's GiB, or the base's size when the flavor has none. */
export function rootSize(rootGb: number): string | undefined {
  return rootGb > 0 ? `${rootGb}G` : undefined;
}
