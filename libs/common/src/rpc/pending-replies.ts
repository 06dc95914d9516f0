// Calls waiting for their reply, keyed by message id, each with its own deadline.

interface PendingCall {
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly method: string;
}

export class PendingReplies {
  private readonly calls = new Map<string, PendingCall>();

  /** Resolves with the reply body settled under msgId, or rejects with onTimeout() after timeoutMs. */
  wait(msgId: string, method: string, timeoutMs: number, onTimeout: () => Error): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(msgId);
        reject(onTimeout());
      }, timeoutMs);
      this.calls.set(msgId, { resolve, reject, timer, method });
    });
  }

  /** Hands body to the call waiting under msgId; false when nobody waits (timed out, or not ours). */
  settle(msgId: string, body: unknown): boolean {
    const call = this.take(msgId);
    call?.resolve(body);
    return call !== undefined;
  }

  fail(msgId: string, err: Error): void {
    this.take(msgId)?.reject(err);
  }

  /** Fails every waiting call, e.g. when the connection their replies would arrive on is gone. */
  failAll(errorFor: (method: string) => Error): void {
    for (const msgId of [...this.calls.keys()]) {
      const call = this.take(msgId);
      call?.reject(errorFor(call.method));
    }
  }

  private take(msgId: string): PendingCall | undefined {
    const call = this.calls.get(msgId);
    if (call) {
      clearTimeout(call.timer);
      this.calls.delete(msgId);
    }
    return call;
  }
}
