// @ferry/compute/client: what a caller of the compute topic needs (the RPC stub, its contract, the shapes that cross
// the bus). It loads no driver, flow or transfer code, so the API and the scheduler can use it without them.
export * from './rpcapi';
export { COMPUTE_CONTRACT } from './rpc-contract';
export { CLEANUP_OPS, type CleanupOp, type CleanupStepRequest } from './cleanup-step';
export * from './wire-types';
export { COMPUTE_BINARY } from '@ferry/common/service';
