// crashPoint(): the process SIGKILLs itself at a named step when FERRY_CRASH_POINT arms it (see ./crash-points).
// The setting is read once, at the first pass of any point; a process restarted without it runs unarmed.
import { writeSync } from 'node:fs';
import { SETTINGS } from '../config/settings';
import { CrashCounter, parseCrashPoints, type CrashPointName } from './crash-points';

export { CRASH_POINTS, CRASH_POINT_NAMES, CrashCounter, parseCrashPoints, type CrashArm, type CrashPointName, type CrashRole } from './crash-points';

let counter: CrashCounter | null | undefined;

function armed(): CrashCounter | null {
  if (counter === undefined) {
    const raw = process.env[SETTINGS.crashPoint.env] ?? '';
    const arms = raw === '' ? [] : parseCrashPoints(raw);
    counter = arms.length === 0 ? null : new CrashCounter(arms);
  }
  return counter;
}

/** Dies (SIGKILL, no cleanup, nothing flushed but one line on stderr) when this pass of `point` is armed. */
export function crashPoint(point: CrashPointName, host?: string): void {
  const c = armed();
  if (c === null || !c.pass(point, host)) return;
  writeSync(2, `ferry: crash point ${point}${host ? `@${host}` : ''} reached; SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
