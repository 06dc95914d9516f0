// Where the CPU went during a benchmark phase: this process (and its event loop), other Node processes of the
// benchmark (from their own samples), Postgres, RabbitMQ, the machine. Reads /proc (Linux); elsewhere those are left out.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

interface Sample {
  wall: number;
  self: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
  /** CPU seconds by process name, summed over its processes alive at the time. */
  byName: Map<string, number>;
  /** Busy CPU seconds of the whole machine (all cores). */
  machine: number | undefined;
}

const WATCHED = new Map([['postgres', 'Postgres'], ['beam.smp', 'RabbitMQ']]);

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICKS = clockTicks();

function processSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    const stat = readStat(pid);
    const label = stat && WATCHED.get(stat.name);
    if (label) out.set(label, (out.get(label) ?? 0) + stat.seconds);
  }
  return out;
}

/** A process's name and CPU seconds (user + system) so far, or undefined once it has exited. */
function readStat(pid: string | number): { name: string; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": state is the first; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS };
  } catch {
    return undefined;
  }
}

/** CPU seconds process `pid` has used so far (NaN where /proc cannot tell): per-request CPU holds up on a busy machine. */
export function processCpuSeconds(pid: number): number {
  return readStat(pid)?.seconds ?? Number.NaN;
}

function machineBusySeconds(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy is everything but idle and iowait.
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4];
    return busy / TICKS;
  } catch {
    return undefined;
  }
}

export class CpuMeter {
  private readonly start: Sample = CpuMeter.sample();

  private static sample(): Sample {
    return { wall: performance.now(), self: process.cpuUsage(), elu: performance.eventLoopUtilization(), byName: processSeconds(), machine: machineBusySeconds() };
  }

  /** Each consumer's CPU since construction, in cores (1 = one core busy all along); undefined where unknown. */
  figures(): CpuFigures {
    const end = CpuMeter.sample();
    const wall = (end.wall - this.start.wall) / 1000;
    const self = (end.self.user - this.start.self.user + end.self.system - this.start.self.system) / 1e6;
    const byName = new Map<string, number>();
    for (const label of WATCHED.values()) {
      const before = this.start.byName.get(label);
      const after = end.byName.get(label);
      if (before !== undefined && after !== undefined) byName.set(label, (after - before) / wall);
    }
    return {
      wallSeconds: wall,
      self: self / wall,
      eventLoop: performance.eventLoopUtilization(end.elu, this.start.elu).utilization,
      byName,
      machine: this.start.machine !== undefined && end.machine !== undefined ? (end.machine - this.start.machine) / wall : undefined,
    };
  }

  /** One line: each consumer's CPU since construction, in cores (1.00 = one core busy all along). */
  report(): string {
    return formatCpu(this.figures());
  }
}

/** What a Node process says of its own CPU at one moment (process.cpuUsage(), performance.eventLoopUtilization()). */
export interface NodeCpuSample {
  cpu: NodeJS.CpuUsage;
  eventLoop: EventLoopUtilization;
}

/** Another Node process of the benchmark over a phase: its CPU and its event loop's busy share. */
export interface NodeProcessCpu {
  label: string;
  /** CPU seconds (user + system) between the two samples. */
  seconds: number;
  /** Share of the time its event loop was busy (0–1). */
  eventLoop: number;
}

export function nodeProcessCpu(label: string, before: NodeCpuSample, after: NodeCpuSample): NodeProcessCpu {
  return {
    label,
    seconds: (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1e6,
    eventLoop: performance.eventLoopUtilization(after.eventLoop, before.eventLoop).utilization,
  };
}

export interface CpuFigures {
  wallSeconds: number;
  /** This process, in cores. */
  self: number;
  /** Share of the time this process's event loop was busy (0–1). */
  eventLoop: number;
  /** Other Node processes of the benchmark (e.g. a compute process), each with its CPU seconds over wallSeconds. */
  others?: NodeProcessCpu[];
  /** Postgres, RabbitMQ: in cores. */
  byName: Map<string, number>;
  /** The whole machine, in cores. */
  machine: number | undefined;
}

export function formatCpu(f: CpuFigures, selfLabel = 'this process'): string {
  const parts = [`${selfLabel} ${f.self.toFixed(2)} cores (event loop ${(f.eventLoop * 100).toFixed(0)}% busy)`];
  for (const o of f.others ?? []) parts.push(`${o.label} ${(o.seconds / f.wallSeconds).toFixed(2)} cores (event loop ${(o.eventLoop * 100).toFixed(0)}% busy)`);
  for (const [label, cores] of f.byName) parts.push(`${label} ${cores.toFixed(2)}`);
  if (f.machine !== undefined) parts.push(`machine ${f.machine.toFixed(2)} of ${availableParallelism()}`);
  return parts.join(', ');
}
