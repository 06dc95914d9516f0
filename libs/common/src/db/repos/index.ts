// Small data-access functions, one module per table the services touch.
export { forcedDownHosts, isForcedDown, listServices, recordHeartbeat, type HeartbeatReport } from './services';
export {
  claimServiceLease, releaseServiceLease, renewServiceLease, renewServiceLeases, serviceLeaseHolder, type LeaseHolder, type LeaseOwner,
  type LeaseRenewal,
} from './service-leases';
export {
  computeNodesOf, listComputeNodes, upsertComputeNode, recordHostUsage, type ComputeNodeReport, type HostCapacity,
} from './compute-nodes';
export { ACTION_EVENT_START_DEFER_MS, startAction, withActionEvent, runActionEvent, type EventedResult, noteActionEvent, finishAction, failAction, listActions, getActionWithEvents, type ActionRequester } from './instance-actions';
export {
  claimResources, flavorResources, listAllocations, releaseClaim, releaseSettledClaim, type ResourceClaim, type Resources,
} from './allocations';
export {
  getInstance, instanceStandings, listInstancesOnHost, updateInstanceIf, type InstanceExpectation, type InstanceStanding, type InstanceStatePatch,
} from './instances';
export { latestInstanceFault, listInstanceFaults, recordInstanceFault, FAULT_MESSAGE_MAX, type NewInstanceFault } from './instance-faults';
export {
  finishedMovesOlderThan, getInstanceAndOpenMove, getMigration, getMigrationAndInstance, type MoveRow, incomingLiveMovesFromDownSources, isOpenMoveConflict, latestMigrationOf, openMigrationOf,
  openMigrations, openMigrationsOnHost, recordLiveProgress, requestLiveSteer, type LiveSteerRequest,
} from './migrations';
export { abandonMovePrep, type MovePrepFailure } from './move-prep';
export { claimStuck, latestActionRequester, whileElected, STUCK_QUERIES, type StuckKind, type StuckQuery, type StuckRecord } from './reconcile';
export { rememberRequestValue } from './stored-requests';
export {
  heartbeatAges, liveDowntimes, migrationDurations, migrationTallies, phaseDurations, type HeartbeatAge, type HistogramFigures, type MigrationTally,
} from './metric-figures';
export {
  advanceDrain, createDrain, disableServiceForDrain, drainItems, getDrain, isOpenDrainConflict, listDrains, markDrainDispatched, movesInFlight,
  recordDrainRefusal, type MoveInFlight,
} from './host-drains';
export { policyLayersOf } from './policy-layers';
