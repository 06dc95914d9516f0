// Cold migration and resize on a compute host: each RPC step, recovery from the database, auto-confirm.
export { prepResize, PREP_RESIZE_EVENT } from './prep-resize';
export { resizeInstance, RESIZE_INSTANCE_EVENT } from './resize-instance';
export { finishResize, FINISH_RESIZE_EVENT } from './finish-resize';
export { confirmResize, CONFIRM_RESIZE_EVENT } from './confirm-resize';
export { revertResize, finishRevertResize, REVERT_RESIZE_EVENT, FINISH_REVERT_RESIZE_EVENT } from './revert-resize';
export { cleanupIncoming } from './cleanup-incoming';
export { recoverColdMoves } from './recovery';
export { autoConfirmResizes } from './auto-confirm';
export { moveData, type ColdMoveData } from './move-record';
