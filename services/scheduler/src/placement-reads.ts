// One placement read for the moves that ask at once. A drain or a burst of move requests makes the scheduler place many
// instances together; each read sums every host's allocations, so one read per move repeats the same work once per
// instance. Instead, a move that asks while a read is under way waits for the next one, which serves every move that
// asked meanwhile. No move is placed on a read older than its own request: a read serves only moves that asked before
// it began. The moves of one read share its host states, so each sees what those placed before it took (placement.ts
// counts a host's claim in at once), and the claim itself is checked in the database as always.
import type { SharedPlacement } from './load-hosts';

/** Reads the placement of several consumers at once (load-hosts.ts's loadPlacements). */
export type ReadPlacements = (consumerUuids: readonly string[]) => Promise<SharedPlacement>;

/** What one move gets: the read's host states (shared with the moves of the same read) and its own claims. */
export interface MovePlacement {
  hosts: SharedPlacement['hosts'];
  heldHosts: string[];
}

interface Waiter {
  consumerUuid: string;
  resolve(placement: MovePlacement): void;
  reject(err: unknown): void;
}

export class PlacementReads {
  private waiting: Waiter[] = [];
  private reading = false;

  constructor(private readonly readPlacements: ReadPlacements) {}

  /** The placement for one consumer, from the next read to begin. */
  read(consumerUuid: string): Promise<MovePlacement> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ consumerUuid, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.reading || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.reading = true;
    this.readPlacements([...new Set(batch.map((w) => w.consumerUuid))])
      .then(
        (shared) => { for (const w of batch) w.resolve({ hosts: shared.hosts, heldHosts: shared.heldHostsOf(w.consumerUuid) }); },
        (err: unknown) => { for (const w of batch) w.reject(err); },
      )
      .finally(() => {
        this.reading = false;
        this.next();
      });
  }
}
