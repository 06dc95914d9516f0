// @ferry/compute/cleanup: the API's side of `ferry server cleanup`: gather what every host holds, decide (cleanup-verdict),
// and send each host its step over the bus. The host's side of a step (host-step) stays with the compute service.
export { runCleanup, CLEANUP_ACTION, type CleanupReport } from './run-cleanup';
export { cleanupVerdict, type CleanupPlan, type CleanupFacts } from './cleanup-verdict';
