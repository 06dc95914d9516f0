// A task that runs every interval, never overlapping itself, on an unref'd timer that stop() clears.
import type { Logger } from '../log';

export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    private readonly fn: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Schedules the runs; the first comes one interval from now. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Runs the task now (or joins the run in progress); a failure is logged, never thrown. */
  runNow(): Promise<void> {
    this.running ??= this.fn()
      .catch((err: Error) => this.log.warn({ task: this.name, err: err.message }, 'periodic task failed; it runs again next interval'))
      .finally(() => { this.running = undefined; });
    return this.running;
  }

  /** No further runs; resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runNow().then(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
