// Live migration on a compute host: destination and source checks, the five phases, steering, recovery.
export { checkCanLiveMigrateDestination } from './check-destination';
export { checkCanLiveMigrateSource } from './check-source';
export { preLiveMigration, postLiveMigrationAtDestination, rollbackLiveMigrationAtDestination } from './destination-phases';
export { liveMigration, startLiveMigration, LIVE_MIGRATION_EVENT } from './source';
export { liveMigrationAbort, liveMigrationForceComplete } from './steer';
export { recoverLiveMoves, settleUnsettledLiveMoves } from './recovery';
export { dropIncomingFromDownSources } from './orphaned-incoming';
export { LiveMigrationsHere } from './live-state';
export { downtimeSteps, downtimeAt, completionTimeoutSeconds } from './downtime-ramp';
