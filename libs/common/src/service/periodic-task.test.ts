import { silentLogger } from '../log';
import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs every interval without overlapping itself, and not after stop()', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const task = new PeriodicTask('t', 1000, () => { runs++; return new Promise<void>((r) => { release = r; }); }, silentLogger());
    task.start();
    await jest.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(2);
    release();
    await task.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(2);
  });

  it('logs a failed run and keeps going', async () => {
    let runs = 0;
    const task = new PeriodicTask('t', 1000, async () => { runs++; throw new Error('boom'); }, silentLogger());
    await task.runNow();
    task.start();
    await jest.advanceTimersByTimeAsync(2000);
    expect(runs).toBe(3);
    await task.stop();
  });

  it('joins a run in progress instead of starting another', async () => {
    let runs = 0;
    const task = new PeriodicTask('t', 1000, async () => { runs++; }, silentLogger());
    await Promise.all([task.runNow(), task.runNow()]);
    expect(runs).toBe(1);
  });
});
