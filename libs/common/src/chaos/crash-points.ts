// Named crash points: steps at which a service process may be made to die (SIGKILL) for the chaos harness. Each sits
// between a write and the message that follows it, or between a hypervisor action and the write that records it.
// Which one fires is data (FERRY_CRASH_POINT), parsed here; arming and killing the process is in ./index.

/** Which service process passes the point. */
export type CrashRole = 'api' | 'scheduler' | 'source' | 'dest' | 'compute';

export interface CrashPointInfo {
  role: CrashRole;
  doc: string;
}

/** Every crash point, with the process that passes it and the step it interrupts. */
export const CRASH_POINTS = {
  'api.build.before_cast': { role: 'api', doc: 'server create: instance rows and actions written, schedule_and_build_instances not cast' },
  'api.accept.before_cast': { role: 'api', doc: 'resize, migrate, os-migrateLive: task_state won and action opened, cast not sent' },
  'api.live.after_record': { role: 'api', doc: 'os-migrateLive: migration record (accepted) created, live_migrate_server not cast' },
  'api.confirm.before_cast': { role: 'api', doc: 'confirmResize: migration confirming, confirm_resize not cast' },
  'api.revert.before_cast': { role: 'api', doc: 'revertResize: instance resize_reverting and migration reverting, revert_resize not cast' },
  'api.migration_action.before_cast': { role: 'api', doc: 'migration abort or force-complete: action recorded, cast to the source not sent' },
  'scheduler.build.after_claim': { role: 'scheduler', doc: 'build: host claimed and named on the instance, build_and_run_instance not cast' },
  'scheduler.move.after_claim': { role: 'scheduler', doc: 'cold move: destination claimed, prep_resize not cast' },
  'scheduler.live.after_claim': { role: 'scheduler', doc: 'live migration: destination claimed, check_can_live_migrate_destination not cast' },
  'build.compute.after_spawn': { role: 'compute', doc: 'build: VM spawned, instance not yet ACTIVE in the database' },
  'cold.dest.after_record': { role: 'dest', doc: 'prep_resize: migration record created (pre-migrating), resize_instance not cast to the source' },
  'cold.source.after_pass1': { role: 'source', doc: 'resize_instance: copy pass 1 done and recorded, guest still running' },
  'cold.source.after_power_off': { role: 'source', doc: 'resize_instance: guest powered off, guest_stopped not recorded' },
  'cold.source.after_post_migrating': { role: 'source', doc: 'resize_instance: post-migrating and instance handed to the destination, finish_resize not cast' },
  'cold.dest.after_spawn': { role: 'dest', doc: 'finish_resize: guest defined (and started) here, migration not yet finished' },
  'confirm.source.after_destroy': { role: 'source', doc: 'confirm_resize: source copy destroyed, migration not yet confirmed' },
  'revert.dest.after_drop': { role: 'dest', doc: 'revert_resize: destination copy destroyed, instance not yet handed back to the source' },
  'revert.source.after_power_on': { role: 'source', doc: 'finish_revert_resize: source guest powered on, migration not yet reverted' },
  'live.source.after_prepare': { role: 'source', doc: 'live migration: destination prepared its incoming VM, record not yet running' },
  'live.source.mid_perform': { role: 'source', doc: 'live migration: the transfer job started (record running)' },
  'live.source.after_perform': { role: 'source', doc: 'live migration: transfer done and record post-migrating, Finish not yet called' },
  'live.source.after_finish': { role: 'source', doc: 'live migration: the destination took over and replied, Confirm not yet run here' },
  'live.source.after_rollback_dest': { role: 'source', doc: 'live rollback (abort or failure): destination dropped its incoming VM, guest not yet resumed here' },
  'live.dest.after_prepare': { role: 'dest', doc: 'pre_live_migration: incoming VM defined, reply not sent' },
  'live.dest.after_takeover': { role: 'dest', doc: 'Finish: the guest took over here, the database does not name this host yet' },
  'live.dest.before_reply': { role: 'dest', doc: 'Finish: the database names this host, reply to the source not sent' },
  'api.cleanup.mid_steps': { role: 'api', doc: 'cleanup: the first step done on a host, the others and the database not' },
  'api.cleanup.after_steps': { role: 'api', doc: 'cleanup: every step done on the hosts, the database not yet written' },
  'api.evacuate.after_record': { role: 'api', doc: 'evacuate: task rebuilding and record (accepted) written, evacuate_server not cast' },
  'scheduler.evacuate.after_claim': { role: 'scheduler', doc: 'evacuation: destination claimed, rebuild_instance not cast' },
  'evacuate.dest.after_take': { role: 'dest', doc: 'rebuild_instance: record pre-migrating, guest not yet rebuilt here' },
  'evacuate.dest.after_spawn': { role: 'dest', doc: 'rebuild_instance: guest rebuilt here, the database does not name this host yet' },
  'evacuate.source.after_destroy': { role: 'source', doc: 'fencing on the returning source: stale copy destroyed, record not yet completed' },
} as const satisfies Record<string, CrashPointInfo>;

export type CrashPointName = keyof typeof CRASH_POINTS;

export const CRASH_POINT_NAMES = Object.keys(CRASH_POINTS) as CrashPointName[];

/** One armed point: die on its `pass`-th pass (1: the first), counting only passes on `host` when one is named. */
export interface CrashArm {
  point: CrashPointName;
  host?: string;
  pass: number;
}

function isCrashPoint(name: string): name is CrashPointName {
  return Object.hasOwn(CRASH_POINTS, name);
}

/**
 * Parses FERRY_CRASH_POINT: comma-separated `<point>[@<host>][#<pass>]`, e.g. `cold.source.after_pass1@cmp-a#2`.
 * Throws naming the first bad entry; an empty value arms nothing.
 */
export function parseCrashPoints(raw: string): CrashArm[] {
  const arms: CrashArm[] = [];
  for (const entry of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([a-z0-9_.]+)(?:@([A-Za-z0-9][A-Za-z0-9._-]*))?(?:#(\d+))?$/.exec(entry);
    if (!m) throw new Error(`expected <point>[@<host>][#<pass>], got "${entry}"`);
    const [, point, host, pass] = m;
    if (!isCrashPoint(point!)) throw new Error(`unknown crash point "${point}" (known: ${CRASH_POINT_NAMES.join(', ')})`);
    const n = pass === undefined ? 1 : Number(pass);
    if (n < 1) throw new Error(`a pass count starts at 1, got "${entry}"`);
    arms.push({ point: point!, pass: n, ...(host ? { host } : {}) });
  }
  return arms;
}

/** Counts passes of armed points; `pass` answers whether this one is the pass to die at. */
export class CrashCounter {
  private readonly seen = new Map<CrashArm, number>();

  constructor(readonly arms: readonly CrashArm[]) {}

  /** Records a pass of `point` (on `host`, when the caller knows it); true when an arm says to die here. */
  pass(point: CrashPointName, host?: string): boolean {
    let die = false;
    for (const arm of this.arms) {
      if (arm.point !== point || (arm.host !== undefined && arm.host !== host)) continue;
      const n = (this.seen.get(arm) ?? 0) + 1;
      this.seen.set(arm, n);
      if (n === arm.pass) die = true;
    }
    return die;
  }
}
