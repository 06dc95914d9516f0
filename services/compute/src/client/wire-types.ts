// What compute's callers and compute itself agree on beyond method names: the shapes that cross the bus and the
// capability names a compute node reports. No driver, flow or transfer code lives here.
import type { PowerState } from '@ferry/common/domain';

/** Opaque to the flow: whatever one side of a live migration needs to tell the other (ports, disk exports, leases). JSON only. */
export type MigrationCookie = Record<string, unknown>;

/**
 * What a host's hypervisor has of one guest, as a source asks before it resumes its own copy: nothing, a live
 * migration's incoming VM (paused, never ran here), or a VM that took over (running, paused, or stopped).
 */
export const GUEST_PRESENCES = ['absent', 'incoming', 'running', 'paused', 'stopped'] as const;
export type GuestPresence = (typeof GUEST_PRESENCES)[number];

/** One instance a host's driver holds anything of (list_guests, for `ferry audit`). */
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

export type RebootType = 'SOFT' | 'HARD';

/** The compute node capability that says its driver can live-migrate a rescued instance. */
export const RESCUED_CAPABILITY = 'supports_live_migrate_rescued';
