import { silentLogger } from '@ferry/common/log';
import type { RunningService, ServiceLeaseLost } from '@ferry/common/service';
import { StopIncomplete, stopWithin } from './stop-services';

/** A service whose stop takes stopMs (forever when undefined), recording when it started and finished stopping. */
function service(name: string, events: string[], stopMs: number | undefined, steps: string[] = []): RunningService {
  return {
    name,
    leaseLost: new Promise<ServiceLeaseLost>(() => undefined),
    async stop() {
      events.push(`${name} stopping`);
      await new Promise<void>((resolve) => { if (stopMs !== undefined) setTimeout(resolve, stopMs); });
      events.push(`${name} stopped`);
    },
    unfinished: () => steps,
  };
}

describe('stopWithin', () => {
  it('stops stage after stage, the services of one stage together', async () => {
    const events: string[] = [];
    await stopWithin([[service('api', events, 20)], [service('scheduler', events, 5)], [service('c1', events, 30), service('c2', events, 5)]], 5, silentLogger());
    expect(events).toEqual(['api stopping', 'api stopped', 'scheduler stopping', 'scheduler stopped', 'c1 stopping', 'c2 stopping', 'c2 stopped', 'c1 stopped']);
  });

  it('gives up at the timeout, naming the services that did not stop and their running steps', async () => {
    const events: string[] = [];
    const started = Date.now();
    const stop = stopWithin([[service('api', events, 1)], [service('compute@h1', events, undefined, ['resize_instance (cast 42, 3 s)', 'migration 7']), service('compute@h2', events, 1)]], 0.2, silentLogger());
    await expect(stop).rejects.toThrow(StopIncomplete);
    await expect(stop).rejects.toThrow(/compute@h1 \(resize_instance \(cast 42, 3 s\), migration 7\)/);
    await expect(stop).rejects.not.toThrow(/compute@h2/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
