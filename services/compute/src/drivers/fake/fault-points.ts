// Named fault points: a test (or an operator rehearsing a failure) lists in `<host dir>/faults.json` which
// driver operations fail next, and the fake driver fails them. It is data, read on every operation.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DriverError } from '../errors';
import { writeFileAtomic } from '../atomic-file';

/** Where an operation may be made to fail; `spawn.after_disk` fails a spawn after its disk exists (leftovers). */
export const FAULT_POINTS = [
  'spawn', 'spawn.after_disk', 'destroy', 'power_off', 'power_on', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'prepare_incoming', 'finish_incoming',
  'rescue', 'unrescue', 'redefine', 'live_migration_begin', 'live_migration_prepare', 'live_migration_perform', 'live_migration_job', 'live_migration_finish', 'live_migration_confirm',
  // After Finish resumed the guest here, before it returns: a reply the source never sees.
  'live_migration_finish.after_takeover', 'guest_presence', 'rename', 'persist_definition',
  // Perform on the source: the guest keeps running under its migration name and the job fails (Xen's freeze failure).
  'live_migration_job.freeze',
  // Finish on the destination: the guest takes over, but its definition is not written (it runs from memory).
  'live_migration_finish.no_definition',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** One armed fault: fail the next `times` passes (default 1; "always" until removed), with `message`. */
export interface FaultSpec {
  times?: number | 'always';
  message?: string;
}

/** faults.json: `{"spawn": {"times": 1, "message": "no space"}}`, or the short form `["spawn"]` (each once). */
export type FaultsFile = Partial<Record<FaultPoint, FaultSpec>> | FaultPoint[];

export const FAULTS_FILE = 'faults.json';

export class InjectedFault extends DriverError {
  override readonly code = 'InjectedFault';
}

export class FaultPoints {
  readonly path: string;
  /** Operations of this process consume faults one at a time, so `times` counts exactly. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(hostDir: string, private readonly host: string) {
    this.path = join(hostDir, FAULTS_FILE);
  }

  /** Throws InjectedFault when a fault is armed at `point`, consuming one of its passes. */
  check(point: FaultPoint): Promise<void> {
    const run = this.queue.then(() => this.consume(point));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Like check, but answers the fault instead of throwing it: for points that change what an operation does. */
  take(point: FaultPoint): Promise<InjectedFault | undefined> {
    return this.check(point).then(() => undefined, (err: unknown) => {
      if (err instanceof InjectedFault) return err;
      throw err;
    });
  }

  private async consume(point: FaultPoint): Promise<void> {
    const faults = await this.armed();
    const spec = faults[point];
    if (!spec) return;
    const times = spec.times ?? 1;
    if (times !== 'always') {
      if (times <= 1) delete faults[point];
      else faults[point] = { ...spec, times: times - 1 };
      await writeFileAtomic(this.path, `${JSON.stringify(faults, null, 2)}\n`);
    }
    const message = spec.message ?? `injected fault at ${point}`;
    throw new InjectedFault(`${message} (host ${this.host})`, { fault_point: point, host: this.host });
  }

  /** The faults armed now, in the long form. */
  async armed(): Promise<Partial<Record<FaultPoint, FaultSpec>>> {
    // Every driver step checks its fault point, and almost always none is armed: one stat without an error object
    // answers that at a fraction of a failed open's cost (each open is a thread-pool round trip and an ENOENT thrown).
    if (!statSync(this.path, { throwIfNoEntry: false })) return {};
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const parsed = JSON.parse(text) as FaultsFile;
    return Array.isArray(parsed) ? Object.fromEntries(parsed.map((p) => [p, {}])) : parsed;
  }
}

/** Arms a fault at `point` on the host whose state dir is hostDir (what a test or operator writes by hand). */
export async function armFault(hostDir: string, point: FaultPoint, spec: FaultSpec = {}): Promise<void> {
  const faults = await new FaultPoints(hostDir, '').armed();
  faults[point] = spec;
  await writeFileAtomic(join(hostDir, FAULTS_FILE), `${JSON.stringify(faults, null, 2)}\n`);
}
