// One placement read for the moves that ask at once. A drain or a burst of move requests makes the scheduler place many
// instances together; each read sums every host's allocations, so one read per move repeats the same work once per
// instance. Instead, a move that asks while a read is under way waits for the next one, which serves every move that
// asked meanwhile. No move is placed on a read older than its own request: a read serves only moves that asked before
// it began. The moves of one read share its host states, so each sees what those placed before it took (placement.ts
// counts a host's claim in while it is asked), and the claim itself is checked in the database as always.
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
  /** Consumers being placed now, by lower-case uuid: settles when that placement has ended, either way. */
  private readonly placing = new Map<string, Promise<void>>();

  constructor(private readonly readPlacements: ReadPlacements) {}

  /**
   * Places one consumer with `place`, given the next read to begin. One consumer is placed once at a time: a repeated
   * request (a message delivered again, a re-drive) waits for the placement under way, then reads anew and finds the
   * claim that one made, as the first delivery's claim is found by a later one. Placed on the same read, the second
   * would see the first's room taken and claim a second host.
   */
  async place<T>(consumerUuid: string, place: (placement: MovePlacement) => Promise<T>): Promise<T> {
    const key = consumerUuid.toLowerCase();
    for (let under = this.placing.get(key); under; under = this.placing.get(key)) await under;
    const placed = this.read(consumerUuid).then(place);
    const ended = placed.then(() => undefined, () => undefined);
    this.placing.set(key, ended);
    try {
      return await placed;
    } finally {
      if (this.placing.get(key) === ended) this.placing.delete(key);
    }
  }

  private read(consumerUuid: string): Promise<MovePlacement> {
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
    // Through then: a read that throws at once fails its batch like one that rejects, and the next batch still runs.
    Promise.resolve([...new Set(batch.map((w) => w.consumerUuid))])
      .then((uuids) => this.readPlacements(uuids))
      .then(
        (shared) => {
          for (const w of batch) {
            try {
              w.resolve({ hosts: shared.hosts, heldHosts: shared.heldHostsOf(w.consumerUuid) });
            } catch (err) {
              w.reject(err);
            }
          }
        },
        (err: unknown) => { for (const w of batch) w.reject(err); },
      )
      .finally(() => {
        this.reading = false;
        this.next();
      });
  }
}
