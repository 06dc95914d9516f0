// What the benchmark parent and its compute process (support/compute-process.ts) say to each other over the IPC
// channel. Everything crosses as JSON, so maps travel as entry lists.
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { FerryConfig } from '@ferry/common/config';
import type { FakeDriverOptions } from '@ferry/compute/drivers';
import type { TallySnapshot } from './counting-transport';
import type { SqlCounts } from './sql-counter';

/** What the compute process needs to serve its hosts on the parent's database and bus. */
export interface ComputeProcessSpec {
  /** The database the parent created and migrated; the child only connects to it. */
  dbUrl: string;
  stateDir: string;
  transportUrl: string;
  prefix: string;
  hosts: readonly string[];
  driver: Omit<FakeDriverOptions, 'host' | 'stateDir'>;
  config: Partial<FerryConfig>;
  poolSize: number;
  /** One bus connection per compute service (as separate processes would have), else one shared by all. */
  transportPerService: boolean;
}

/** The compute process's counters and CPU at one moment, as sent over IPC. */
export interface WireCounts {
  sql: SqlCounts;
  casts: [string, number][];
  notifications: [string, number][];
  calls: number;
  cpu: NodeJS.CpuUsage;
  eventLoop: EventLoopUtilization;
}

/** The same, with the tally back in maps. */
export interface ProcessCounts {
  sql: SqlCounts;
  tally: TallySnapshot;
  cpu: NodeJS.CpuUsage;
  eventLoop: EventLoopUtilization;
}

export type ParentMessage =
  | { type: 'start'; spec: ComputeProcessSpec }
  | { type: 'counts'; id: number }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'counts'; id: number; counts: WireCounts };

export function toWire(sql: SqlCounts, tally: TallySnapshot, cpu: NodeJS.CpuUsage, eventLoop: EventLoopUtilization): WireCounts {
  return { sql, casts: [...tally.casts], notifications: [...tally.notifications], calls: tally.calls, cpu, eventLoop };
}

export function fromWire(w: WireCounts): ProcessCounts {
  return { sql: w.sql, tally: { casts: new Map(w.casts), notifications: new Map(w.notifications), calls: w.calls }, cpu: w.cpu, eventLoop: w.eventLoop };
}
