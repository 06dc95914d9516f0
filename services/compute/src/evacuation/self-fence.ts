// Self-fencing: a compute cut off from the database (alive, but its heartbeat failing) may be declared down and have
// its instances evacuated, and so may one an admin forced down. Before the first can happen (FERRY_SELF_FENCE_AFTER <
// FERRY_SERVICE_DOWN_TIME), and as soon as it sees the second, it pauses every guest it runs, remembering them in a file
// that outlives the process; once it reaches the database again it fences (fencing.ts) and resumes only the guests the
// database places here with no evacuation away from it open. The ones it keeps paused are looked at again until the
// database places them here (a rebuild or move that was finishing here) or their VM is gone.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { getInstance, openMigrationOf } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';
import { fenceEvacuatedGuests } from './fencing';

/** How often guests still kept paused after the fence lifted are looked at again. */
const REVIEW_EVERY_MS = 2000;

/** The guests this host paused to fence itself, kept across restarts. */
export function fencedFile(stateDir: string, host: string): string {
  return join(stateDir, 'hosts', host, 'self-fenced.json');
}

export async function readFenced(path: string): Promise<string[]> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as string[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function writeFenced(path: string, uuids: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify([...new Set(uuids)].sort()));
  await rename(`${path}.tmp`, path);
}


/**
 * Pauses every running guest and records which; uses only the driver and the disk (the database is out of reach).
 * `isOurs`, when the database can be read, spares guests it places on another host (on shared storage this host sees
 * them too).
 */
export async function fenceSelf(c: ComputeContext, path: string, why: string, isOurs?: (uuid: string) => Promise<boolean>): Promise<string[]> {
  const all = (await c.driver.listVms()).filter((vm) => vm.power_state === POWER_STATES.RUNNING);
  const running = [];
  for (const vm of all) if (!isOurs || (await isOurs(vm.uuid))) running.push(vm);
  const paused: string[] = [];
  const failed: string[] = [];
  // Recorded before the pause: a crash between the two leaves a guest listed, never a paused one forgotten.
  await writeFenced(path, [...(await readFenced(path)), ...running.map((vm) => vm.uuid)]);
  for (const vm of running) {
    c.fencedGuests.add(vm.uuid);
    try {
      await c.driver.pause(vm.uuid);
      paused.push(vm.uuid);
    } catch (err) {
      failed.push(vm.uuid);
      c.log.error({ instance_uuid: vm.uuid, err: (err as Error).message }, 'cannot pause a guest while fenced');
    }
  }
  c.log.error({ paused: paused.length, guests: paused, why }, 'this host may be evacuated, so every guest it ran is paused');
  // A guest left running must not stay so: the fence is not done, and the next tick tries again.
  if (failed.length > 0) throw new Error(`could not pause ${failed.length} guest(s) while fenced: ${failed.join(', ')}`);
  return paused;
}

/**
 * The vm_states in which the database wants the guest running. A build counts: a guest the fence paused between its
 * spawn and the write that makes it ACTIVE would otherwise stay paused under an ACTIVE instance.
 */
const RUNNING_VM_STATES: ReadonlySet<string> = new Set([VM_STATES.ACTIVE, VM_STATES.BUILDING, VM_STATES.RESCUED, VM_STATES.RESIZED]);

/**
 * Back in touch with the database: fence first (a guest evacuated away is destroyed, one being evacuated stays held),
 * then resume each guest this host paused that the database still places here with no evacuation away open.
 */
export async function unfenceSelf(c: ComputeContext, path: string): Promise<{ resumed: string[]; kept: string[] }> {
  await fenceEvacuatedGuests(c);
  return resumeFencedGuests(c, path, 'unfence');
}

/**
 * Resumes each guest this host paused that the database places here, with no evacuation away from this host open;
 * keeps the others paused and listed. A guest whose VM is gone has nothing left to keep from running and leaves the
 * list. Run when the fence lifts, and again while guests stay kept: one paused just before the database named this
 * host (a rebuild or a move finishing here) is resumed once it does, rather than left paused under a running instance.
 */
export async function resumeFencedGuests(c: ComputeContext, path: string, when: 'unfence' | 'review'): Promise<{ resumed: string[]; kept: string[] }> {
  const listed = await readFenced(path);
  const resumed: string[] = [];
  const kept: string[] = [];
  for (const uuid of listed) {
    const vm = await c.driver.getVm(uuid);
    if (!vm) {
      c.fencedGuests.delete(uuid);
      continue;
    }
    const instance = await getInstance(c.ds, uuid);
    const open = await openMigrationOf(c.ds, uuid);
    // An evacuation to this host that is done here waits only for its source to complete it: the guest is this host's.
    const evacuatedAway = open?.migration_type === 'evacuation' && open.source_compute === c.host;
    if (!instance || instance.deleted_at || instance.host !== c.host || evacuatedAway) {
      kept.push(uuid);
      if (when === 'unfence') {
        c.log.warn({ instance_uuid: uuid, host: instance?.host, migration_id: open?.id }, 'guest paused while fenced is not resumed: the database no longer places it here alone');
      }
      continue;
    }
    // Only what the database wants running runs again (a pause asked for meanwhile stays).
    if (vm.power_state === POWER_STATES.PAUSED && RUNNING_VM_STATES.has(instance.vm_state)) await c.driver.unpause(uuid);
    c.fencedGuests.delete(uuid);
    resumed.push(uuid);
  }
  if (kept.length !== listed.length) await writeFenced(path, kept);
  for (const uuid of kept) c.fencedGuests.add(uuid);
  if (when === 'unfence' ? listed.length > 0 : resumed.length > 0) {
    c.log.info({ resumed, kept, when }, 'guests paused by the self-fence resumed where the database places them');
  }
  return { resumed, kept };
}

/**
 * Watches the heartbeat and the service row: fences when no beat has reached the database for `fenceMs`, or when an
 * admin forced the service down (the host is then evacuable though this process runs); unfences once beats land and
 * the service is no longer forced down. While forced down it fences evacuated copies at every tick, so the records of
 * evacuations away complete without a restart. A tick that comes late (the whole process was stopped or starved) only
 * restarts the count: a process that was not running ran no guest work either, and its next beat comes within one
 * interval.
 */
export class SelfFence {
  private timer: NodeJS.Timeout | undefined;
  private fenced = false;
  private forced = false;
  private reading = false;
  private stepping = false;
  private running: Promise<unknown> = Promise.resolve();
  private lastTick = Date.now();
  private lastReview = 0;
  /** Whether the fence file may list guests kept paused when the fence lifted; unknown at start, so looked at once. */
  private keptListed = true;

  constructor(
    private readonly c: ComputeContext,
    private readonly watch: { lastBeat: () => number; forcedDown: () => Promise<boolean> },
    private readonly fenceMs: number,
    private readonly path: string,
    /** fencedAtStart: a compute that started while forced down fenced itself first. */
    opts: { tickMs?: number; fencedAtStart?: boolean } = {},
  ) {
    this.tickMs = opts.tickMs ?? 500;
    this.fenced = opts.fencedAtStart ?? false;
    this.forced = this.fenced;
  }

  private readonly tickMs: number;

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    const now = Date.now();
    const late = now - this.lastTick > 4 * this.tickMs;
    this.lastTick = now;
    if (late) return;
    this.readForcedDown();
    const fence = now - this.watch.lastBeat() > this.fenceMs || this.forced;
    if (fence !== this.fenced) {
      this.fenced = fence;
      this.step(fence ? 'fence' : 'unfence');
    } else if (fence && this.forced) {
      this.step('fence-evacuated');
    } else if (!fence && this.keptListed && now - this.lastReview >= REVIEW_EVERY_MS) {
      // Guests kept paused when the fence lifted: any the database has since placed here run again.
      this.lastReview = now;
      this.step('review');
    }
  }

  private readForcedDown(): void {
    if (this.reading) return;
    this.reading = true;
    this.watch.forcedDown()
      .then((forced) => { this.forced = forced; })
      // Unreadable: the heartbeat's age decides.
      .catch(() => undefined)
      .finally(() => { this.reading = false; });
  }

  private step(kind: 'fence' | 'unfence' | 'fence-evacuated' | 'review'): void {
    if ((kind === 'fence-evacuated' || kind === 'review') && this.stepping) return;
    const run = async (): Promise<void> => {
      this.stepping = true;
      try {
        if (kind === 'fence') {
          await fenceSelf(this.c, this.path, this.forced ? 'service forced down by an admin' : 'heartbeat failing past FERRY_SELF_FENCE_AFTER');
          this.keptListed = true;
        } else if (kind === 'unfence') {
          this.keptListed = (await unfenceSelf(this.c, this.path)).kept.length > 0;
        } else if (kind === 'fence-evacuated') {
          await fenceEvacuatedGuests(this.c);
        } else if (!this.fenced) {
          // A review, unless fenced again since the tick that asked it: then nothing resumes.
          this.keptListed = (await resumeFencedGuests(this.c, this.path, 'review')).kept.length > 0;
        }
      } finally {
        this.stepping = false;
      }
    };
    this.running = this.running.then(run).catch((err: unknown) => {
      this.c.log.error({ err: (err as Error).message, step: kind }, 'fencing step failed; retried at the next tick');
      // A fence or an unfence that did not finish is tried again at the next tick.
      if (kind === 'unfence') this.fenced = true;
      if (kind === 'fence') this.fenced = false;
    });
  }
}
