// Stops a process's services, stage after stage, within FERRY_STOP_TIMEOUT: when told to (a signal) or when one
// of them must (another process took its lease).
import type { Logger } from '@ferry/common/log';
import type { RunningService, ServiceLeaseLost } from '@ferry/common/service';

/** Some steps did not reach a safe point in time: the process exits anyway (status 1), and says which. */
export class StopIncomplete extends Error {
  constructor(timeoutSeconds: number, unfinished: string[]) {
    super(`stopped without waiting any longer for ${unfinished.join('; ')} (FERRY_STOP_TIMEOUT ${timeoutSeconds} s); their records stay for recovery at the next start`);
    this.name = 'StopIncomplete';
  }
}

export type StopReason = { signal: NodeJS.Signals } | { leaseLost: ServiceLeaseLost };

/**
 * Resolves with signalled (from untilSignal, listening since before the process said it was ready, so that a signal
 * sent on seeing the banner finds its listener), or as soon as any of the services lost its lease.
 */
export function untilStopRequested(signalled: Promise<NodeJS.Signals>, services: RunningService[]): Promise<StopReason> {
  return Promise.race([
    signalled.then((signal) => ({ signal })),
    ...services.map((s) => s.leaseLost.then((leaseLost) => ({ leaseLost }))),
  ]);
}

/**
 * Stops each stage's services together, stages in order (e.g. the API first, so that no new request arrives while
 * the rest wind down). Throws StopIncomplete, naming the steps still running, once timeoutSeconds have passed.
 */
export async function stopWithin(stages: RunningService[][], timeoutSeconds: number, log: Logger): Promise<void> {
  const pending = new Set(stages.flat());
  const stopping = (async () => {
    for (const stage of stages) {
      await Promise.all(stage.map(async (svc) => {
        try {
          await svc.stop();
          log.info({ service_name: svc.name }, 'stopped');
        } catch (err) {
          log.error({ service_name: svc.name, err: (err as Error).message }, 'failed to stop cleanly');
        } finally {
          pending.delete(svc);
        }
      }));
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<true>((resolve) => { timer = setTimeout(() => resolve(true), timeoutSeconds * 1000); });
  const late = await Promise.race([stopping.then(() => false), timedOut]);
  clearTimeout(timer);
  if (!late) return;
  const unfinished: string[] = [];
  for (const svc of pending) {
    const steps = svc.unfinished();
    log.error({ service_name: svc.name, unfinished: steps }, 'did not stop in time');
    unfinished.push(`${svc.name}${steps.length > 0 ? ` (${steps.join(', ')})` : ''}`);
  }
  throw new StopIncomplete(timeoutSeconds, unfinished);
}

/** Exits with status 0 if something left open (a socket, a timer) would keep the process alive after a clean stop. */
export function exitOnceIdle(log: Logger, graceMs = 2_000): void {
  setTimeout(() => {
    log.warn('handles still open after every service stopped; exiting');
    process.exit(0);
  }, graceMs).unref();
}
