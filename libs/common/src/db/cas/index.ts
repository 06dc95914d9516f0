// Status writes: compare-and-set updates and validated inserts, each a single statement outside any transaction.
export { advanceMigration } from './advance-migration';
export { advanceMoveAndInstance, type InstanceStep, type RecordStep } from './advance-move';
export { advanceInstanceTask, takeTaskWithAction } from './advance-instance-task';
export { completeLiveMigration, type LiveCompletion } from './complete-live-migration';
export { retakeStaleTask } from './retake-stale-task';
export { createMigration, createMigrationWhileDown, type DownService, type NewMigration } from './create-migration';
export { patchMigration } from './patch-migration';
export { resetInstanceState, type ResetOutcome } from './reset-instance-state';
export { recordCopyProgress, type CopyFigures, type CopyProgressTarget } from './record-copy-progress';
