// Whether an admin forced a host's compute down, read for every host of the process in one statement: the self-fences
// of a thousand fake hosts, each asking twice a second, share one read instead of making two thousand.
import type { DataSource } from 'typeorm';
import { forcedDownHosts } from '@ferry/common/db';
import { COMPUTE_BINARY } from '@ferry/common/service';

interface Read {
  at: number;
  hosts: ReadonlySet<string>;
  forced: Promise<ReadonlySet<string>>;
}

export class ForcedDownWatch {
  private static readonly watches = new WeakMap<DataSource, ForcedDownWatch>();
  private readonly hosts = new Set<string>();
  private last: Read | undefined;

  private constructor(private readonly ds: DataSource) {}

  /** The watch of every compute of the process on ds. */
  static of(ds: DataSource): ForcedDownWatch {
    let watch = ForcedDownWatch.watches.get(ds);
    if (!watch) ForcedDownWatch.watches.set(ds, (watch = new ForcedDownWatch(ds)));
    return watch;
  }

  /** Includes host in the reads until the returned function is called. */
  watch(host: string): () => void {
    this.hosts.add(host);
    return () => { this.hosts.delete(host); };
  }

  /**
   * Whether host's compute is forced down, from a read of every watched host started at most maxAgeMs ago (or one
   * started now): a host asking at its own pace never sees an answer older than that.
   */
  async isForcedDown(host: string, maxAgeMs: number): Promise<boolean> {
    const last = this.last;
    const fresh = last && Date.now() - last.at <= maxAgeMs && last.hosts.has(host);
    const read = fresh ? last : this.read(host);
    return (await read.forced).has(host);
  }

  private read(asking: string): Read {
    const hosts = new Set([...this.hosts, asking]);
    const read: Read = { at: Date.now(), hosts, forced: forcedDownHosts(this.ds, COMPUTE_BINARY, [...hosts]) };
    this.last = read;
    // A failed read is not kept: the next question reads again.
    read.forced.catch(() => { if (this.last === read) this.last = undefined; });
    return read;
  }
}
