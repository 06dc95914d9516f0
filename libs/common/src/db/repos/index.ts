// Small data-access functions, one module per table the services touch.
export { listServices, recordHeartbeat, type HeartbeatReport } from './services';
export { listComputeNodes, upsertComputeNode, type ComputeNodeReport } from './compute-nodes';
