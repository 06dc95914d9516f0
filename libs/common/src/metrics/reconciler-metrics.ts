// What the reconcilers do: their passes, and every stuck record they re-drove (or failed to), by kind.
import { Counter } from 'prom-client';
import { processMetrics } from './registry';

/** Which reconciler ran: the elected scheduler's, or a compute's for its own host. */
export type ReconcilerName = 'scheduler' | 'compute';
export type ReconcilerOutcome = 'redriven' | 'failed';

const passes = new Counter({
  name: 'ferry_reconciler_passes_total',
  help: 'Reconciler passes run (a scheduler pass counts only when it held the election).',
  labelNames: ['reconciler'], registers: [processMetrics],
});
const actions = new Counter({
  name: 'ferry_reconciler_actions_total',
  help: 'Records left past their step\'s deadline that a reconciler re-drove, or tried to and failed, by kind of record.',
  labelNames: ['reconciler', 'kind', 'outcome'], registers: [processMetrics],
});

export function countReconcilerPass(reconciler: ReconcilerName): void {
  passes.inc({ reconciler });
}

export function countReconcilerAction(reconciler: ReconcilerName, kind: string, outcome: ReconcilerOutcome): void {
  actions.inc({ reconciler, kind, outcome });
}
