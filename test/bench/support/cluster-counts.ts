// What a BenchCluster's Node processes have sent so far, read at one moment: this process's SQL (counted by the
// SqlCounter) and casts and notifications (the cluster's tally), plus, in the split layout, the compute process's own.
import type { BenchCluster } from './bench-cluster';
import type { ProcessCounts } from './compute-process-protocol';
import { addTallies, type TallySnapshot } from './counting-transport';
import { sum, type SqlCounter, type SqlCounts } from './sql-counter';

export interface ClusterCounts {
  /** Both processes' statements summed in the split layout. */
  sql: SqlCounts;
  /** Both processes' casts and notifications summed in the split layout. */
  tally: TallySnapshot;
  /** The compute process's own, with its CPU; undefined when the computes run in this process. */
  computeProcess: ProcessCounts | undefined;
}

export async function clusterCounts(cluster: BenchCluster, counter: SqlCounter): Promise<ClusterCounts> {
  const child = await cluster.computeProcessCounts();
  const sql = counter.snapshot();
  const tally = cluster.tally.snapshot();
  if (!child) return { sql, tally, computeProcess: undefined };
  return { sql: sum(sql, child.sql), tally: addTallies(tally, child.tally), computeProcess: child };
}
