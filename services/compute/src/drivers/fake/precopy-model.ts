// QEMU's pre-copy, as arithmetic: RAM goes over in passes, each resending what the guest dirtied during the previous
// one, until what is left fits in the allowed downtime; then the guest stops and the rest goes (the switch-over).
// Pure and clock-free: the job advances it by simulated time.
//
// As in QEMU's migration thread, the test "remaining ≤ bandwidth × downtime-limit" runs all the time, not only at the
// end of a pass, so a raised downtime limit takes effect at once. Auto-converge follows QEMU's cpu-throttle
// parameters: each pass that ends without converging throttles the guest's CPUs, first by 20 %, then 10 % more each
// time, at most 99 %; the guest dirties its RAM in proportion to the CPU time it is left.

/** QEMU's cpu-throttle-initial, cpu-throttle-increment and max-cpu-throttle defaults, in percent. */
export const THROTTLE_INITIAL = 20;
export const THROTTLE_INCREMENT = 10;
export const THROTTLE_MAX = 99;

/** Under a byte left is float dust, not a page still to send. */
const EPSILON_BYTES = 1;

export interface PrecopyParams {
  ramBytes: number;
  /** Bytes per second the link moves. */
  bandwidth: number;
  /** Bytes per second the guest dirties its RAM when its CPUs are not throttled. */
  dirtyRate: number;
  autoConverge: boolean;
  maxDowntimeMs: number;
}

export type PrecopyStage =
  /** Passes over RAM while the guest runs (or is paused by force-complete). */
  | 'precopy'
  /** The guest is stopped on the source and the remaining pages go; its duration is the downtime. */
  | 'switchover'
  /** Post-copy: the guest runs on the destination, the remaining pages follow at full bandwidth. */
  | 'postcopy'
  | 'completed';

export interface PrecopyState {
  readonly ramBytes: number;
  readonly bandwidth: number;
  /** Bytes per second the guest dirties when unthrottled. */
  readonly dirtyRate: number;
  readonly autoConverge: boolean;
  maxDowntimeMs: number;
  stage: PrecopyStage;
  /** CPU throttle auto-converge applies now, in percent (0: none). */
  throttlePercent: number;
  /** Passes over RAM started so far (1 during the first): QEMU's dirty-sync-count. */
  iterations: number;
  /** Bytes of the current pass still to send. */
  passRemaining: number;
  /** Bytes dirtied since the current pass started (the next pass), at most all of RAM. */
  dirtied: number;
  /** Bytes sent so far, resent pages counted again (QEMU's ram.transferred). Never decreases. */
  processed: number;
  /** Simulated time since the transfer of RAM started. Never decreases. */
  elapsedMs: number;
  /** The guest was paused to force completion: nothing is dirtied any more. */
  paused: boolean;
  /** The job switched to post-copy (stays true once completed). */
  postcopy: boolean;
  /** The guest's pause at switch-over so far (a paused-by-force guest's whole pause is not counted). */
  downtimeMs: number;
}

export function startPrecopy(p: PrecopyParams): PrecopyState {
  for (const [name, value] of [['ramBytes', p.ramBytes], ['dirtyRate', p.dirtyRate], ['maxDowntimeMs', p.maxDowntimeMs]] as const) {
    if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  }
  if (!(p.bandwidth > 0 && Number.isFinite(p.bandwidth))) throw new RangeError(`bandwidth must be a positive number, got ${p.bandwidth}`);
  return {
    ...p, stage: 'precopy', throttlePercent: 0, iterations: 1, passRemaining: p.ramBytes, dirtied: 0, processed: 0, elapsedMs: 0,
    paused: false, postcopy: false, downtimeMs: 0,
  };
}

export function isCompleted(s: PrecopyState): boolean {
  return s.stage === 'completed';
}

/** The bytes per second the guest dirties now: none once stopped, paused or running on the destination. */
export function effectiveDirtyRate(s: PrecopyState): number {
  if (s.stage !== 'precopy' || s.paused) return 0;
  return s.dirtyRate * (1 - s.throttlePercent / 100);
}

/** What is still to send if the switch-over happened now. */
export function remainingBytes(s: PrecopyState): number {
  if (s.stage === 'completed') return 0;
  return Math.min(s.ramBytes, s.passRemaining + s.dirtied);
}

/** The pause a switch-over would need now, in ms. */
export function expectedDowntimeMs(s: PrecopyState): number {
  return (remainingBytes(s) / s.bandwidth) * 1000;
}

/** Bytes the allowed downtime lets go while the guest is stopped (QEMU's threshold_size). */
function thresholdBytes(s: PrecopyState): number {
  return (s.bandwidth * s.maxDowntimeMs) / 1000;
}

/**
 * Force-complete: post-copy switches the guest to the destination, else the guest is paused; either way nothing is
 * dirtied any more and the job completes once what remains has been sent at full bandwidth. Idempotent; the first
 * mode chosen stays.
 */
export function forceCompletion(s: PrecopyState, mode: 'postcopy' | 'pause'): void {
  if (s.stage !== 'precopy' || s.paused) return;
  // What remains is the last pass: pages dirtied twice (or dirtied before being sent once) go once.
  s.passRemaining = remainingBytes(s);
  s.dirtied = 0;
  if (mode === 'pause') {
    s.paused = true;
    return;
  }
  s.stage = 'postcopy';
  s.postcopy = true;
}

/** Advances the model by dtMs of simulated time (in place). */
export function advancePrecopy(s: PrecopyState, dtMs: number): void {
  let left = dtMs;
  for (;;) {
    if (s.stage === 'precopy' && remainingBytes(s) <= thresholdBytes(s) + EPSILON_BYTES) startSwitchover(s);
    if (s.stage !== 'completed' && s.passRemaining < EPSILON_BYTES) endPass(s);
    if (s.stage === 'completed' || !(left > 0)) return;
    const step = Math.min(left, nextEventMs(s));
    send(s, step);
    left -= step;
  }
}

/** Simulated ms until something changes: the pass ends, or (pre-copy) what remains falls to the threshold. */
function nextEventMs(s: PrecopyState): number {
  const passMs = (s.passRemaining / s.bandwidth) * 1000;
  const rate = effectiveDirtyRate(s);
  if (s.stage !== 'precopy' || rate >= s.bandwidth) return passMs;
  // Until the dirtied bytes reach all of RAM, remaining falls by (bandwidth - rate) per second.
  const excess = remainingBytes(s) - thresholdBytes(s);
  return Math.min(passMs, (excess / (s.bandwidth - rate)) * 1000);
}

function send(s: PrecopyState, stepMs: number): void {
  const sent = Math.min(s.passRemaining, (s.bandwidth * stepMs) / 1000);
  s.dirtied = Math.min(s.ramBytes, s.dirtied + (effectiveDirtyRate(s) * stepMs) / 1000);
  s.passRemaining -= sent;
  s.processed += sent;
  s.elapsedMs += stepMs;
  if (s.stage === 'switchover') s.downtimeMs += stepMs;
}

/** The guest stops: what remains is the last pass. */
function startSwitchover(s: PrecopyState): void {
  s.passRemaining = remainingBytes(s);
  s.dirtied = 0;
  s.stage = 'switchover';
}

function endPass(s: PrecopyState): void {
  // Dust of the pass counts as sent, so processed ends at what was really moved.
  s.processed += s.passRemaining;
  s.passRemaining = 0;
  if (s.stage !== 'precopy') {
    s.stage = 'completed';
    return;
  }
  // Pre-copy: the next pass sends what the guest dirtied during this one (the threshold test runs on the next step).
  if (s.dirtied < EPSILON_BYTES && s.paused) {
    s.stage = 'completed';
    return;
  }
  s.iterations += 1;
  s.passRemaining = s.dirtied;
  s.dirtied = 0;
  if (s.autoConverge && s.passRemaining > thresholdBytes(s) + EPSILON_BYTES) s.throttlePercent = s.throttlePercent === 0 ? THROTTLE_INITIAL : Math.min(THROTTLE_MAX, s.throttlePercent + THROTTLE_INCREMENT);
}
