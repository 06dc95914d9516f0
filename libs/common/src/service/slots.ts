// A counting semaphore, first come first served: at most N holders at once (a source host's live migrations, an API
// process's server listings); the rest wait in order. A waiter can leave the queue (its work was aborted, or the service
// is stopping).
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /**
   * Resolves true once a slot is held (the caller must release() it exactly once), or false if `signal` aborted
   * first (nothing is held then).
   */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    if (this.used < this.size) {
      this.used++;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const granted = () => {
        signal?.removeEventListener('abort', left);
        resolve(true);
      };
      const left = () => {
        const at = this.waiting.indexOf(granted);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      this.waiting.push(granted);
      signal?.addEventListener('abort', left, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
