// The vocabulary of moves: migration types, Nova's migration statuses, and the service roles that write them.

export const MIGRATION_TYPES = ['migration', 'resize', 'live-migration', 'evacuation'] as const;
export type MigrationType = (typeof MIGRATION_TYPES)[number];

/** Nova's migration statuses (every status any of the four flows uses). */
export const MIGRATION_STATUSES = [
  'accepted', 'queued', 'pre-migrating', 'migrating', 'preparing', 'running', 'post-migrating',
  'finished', 'confirming', 'confirmed', 'reverting', 'reverted',
  'completed', 'done', 'cancelled', 'error', 'failed',
] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/**
 * Who writes a status. `source` and `dest` are the compute services on the instance's source and
 * destination hosts; `api` includes its admin actions (abort, cleanup); `scheduler` only fails a
 * record it could not place.
 */
export const SERVICE_ROLES = ['api', 'scheduler', 'source', 'dest'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

export function isMigrationType(value: unknown): value is MigrationType {
  return typeof value === 'string' && (MIGRATION_TYPES as readonly string[]).includes(value);
}

export function isMigrationStatus(value: unknown): value is MigrationStatus {
  return typeof value === 'string' && (MIGRATION_STATUSES as readonly string[]).includes(value);
}

/** Cold migration and resize share one flow; they differ only in whether the flavor changes. */
export function isColdMove(type: MigrationType): boolean {
  return type === 'migration' || type === 'resize';
}
