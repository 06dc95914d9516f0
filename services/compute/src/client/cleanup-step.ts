// The wire shape of one `cleanup` step (compute RPC cleanup_guest), apart from the code that runs it.
import type { GuestPresence } from './wire-types';

export const CLEANUP_OPS = ['destroy', 'rename_back', 'resume_incoming', 'persist_definition'] as const;
export type CleanupOp = (typeof CLEANUP_OPS)[number];

export interface CleanupStepRequest {
  instance_uuid: string;
  op: CleanupOp;
  /** destroy: the presence the plan saw; any other (but nothing left) is refused. */
  expect?: GuestPresence;
}
