// The harness's own connection to the run's database, reopened after a Postgres restart cut it.
import pg from 'pg';

export class ReconnectingDb {
  private client: pg.Client | undefined;

  constructor(private readonly url: string) {}

  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  /** The client to query with; waits (up to timeoutMs) while the server is restarting. */
  async use<T>(fn: (c: pg.Client) => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await fn(await this.connected());
      } catch (err) {
        const c = this.client;
        this.client = undefined;
        await c?.end().catch(() => undefined);
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
