// Counts handlers that are still running so a server can stop without cutting them off.

export class InFlight {
  private count = 0;
  private idle: (() => void)[] = [];

  begin(): void {
    this.count++;
  }

  end(): void {
    if (--this.count > 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves once nothing is running, including work begun meanwhile. */
  drain(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }
}
