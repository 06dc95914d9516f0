// What a live migration record carries in migrate_data: the request as the API accepted it, and what the hosts decided.

/** Written by the API when it records the request (status `accepted`). */
export interface LiveMigrationRequestData {
  /** The destination an admin named, or null for the scheduler's choice. */
  requested_host: string | null;
  /** true, false, or "auto" (block migration exactly when the hosts do not share instance storage). */
  block_migration: boolean | 'auto';
  /** 2.30–2.67 `force`: the named host is taken without the scheduler's filters. */
  force: boolean;
  /** vm_state when accepted: a paused guest arrives paused. */
  old_vm_state: string;
  /** The request that started it (ids and roles only): steps resumed later record events on its action. */
  request_context: { request_id: string; global_request_id?: string; user_id?: string; project_id?: string; roles: string[] };
}

/** Added by the destination's checks. */
export interface LiveMigrationDecisions {
  /** What block_migration resolved to on this pair of hosts. */
  block_migration_resolved?: boolean;
  /** Hosts the scheduler offered after this one (a failed destination check moves on to the next). */
  alternates?: string[];
}

export type LiveMigrationData = LiveMigrationRequestData & LiveMigrationDecisions;

/** The instance metadata key that sets a fake guest's RAM dirty rate in MiB/s (the fake driver's pre-copy model). */
export const DIRTY_RATE_METADATA_KEY = 'ferry:dirty_rate_mib_s';

/** The instance metadata key that caps the bandwidth (MiB/s) its live migrations may use, below the host's own cap. */
export const BANDWIDTH_METADATA_KEY = 'ferry:migration_bandwidth_mib_s';
