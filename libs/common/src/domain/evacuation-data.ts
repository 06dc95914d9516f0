// What an evacuation record carries in migrate_data: the request as the API accepted it.

/** Written by the API when it records the evacuation (status `accepted`). */
export interface EvacuationRequestData {
  /** The destination an admin named, or null for the scheduler's choice. */
  requested_host: string | null;
  /** 2.29–2.67 `force`: the named host is taken without the scheduler's filters. */
  force: boolean;
  /** vm_state when accepted: a stopped instance is rebuilt stopped, an active or errored one running (as Nova). */
  old_vm_state: string;
  /** The request that started it (ids and roles only): steps resumed later record events on its action. */
  request_context: { request_id: string; global_request_id?: string; user_id?: string; project_id?: string; roles: string[] };
  /** A whole-host evacuation (`ferry host evacuate`): its id and how many of its evacuations may be under way at once. */
  batch?: { id: string; concurrency: number };
  /** Set by the scheduler when a batch's evacuation took one of its slots (it then counts until it ends). */
  dispatched?: boolean;
}

/** The task states an evacuation holds the instance in: the API's, then the destination's while it rebuilds. */
export const EVACUATION_TASK_STATES = Object.freeze(['rebuilding', 'rebuild_spawning'] as const);
