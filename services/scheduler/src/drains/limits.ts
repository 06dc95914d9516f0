// How many moves a drain may start now: at most `perHost` leaving one host, `perCluster` under way in the cluster, and
// live migrations leaving one host whose bandwidth caps together fit in the host's link (one alone always may).
export interface DrainLimits {
  perCluster: number;
  /** Bytes per second of each host's migration link. */
  linkBandwidth: number;
}

/** A move as the budget counts it: where it leaves from, and for a live migration the bandwidth its policy allows it. */
export interface CountedMove {
  source: string;
  live: boolean;
  /** Bytes per second (live migrations only). */
  bandwidth: number;
}

export interface MoveRequest extends CountedMove {
  perHost: number;
}

/** What is in flight, and the admissions made so far in this pass. */
export class MoveBudget {
  private cluster = 0;
  private readonly byHost = new Map<string, { moves: number; liveBandwidth: number }>();

  constructor(private readonly limits: DrainLimits, inFlight: readonly CountedMove[]) {
    for (const m of inFlight) this.add(m);
  }

  /** Admits the move (and counts it) when every limit allows it; false leaves the budget as it was. */
  tryAdmit(move: MoveRequest): boolean {
    const host = this.host(move.source);
    if (this.cluster >= this.limits.perCluster || host.moves >= move.perHost) return false;
    if (move.live && host.liveBandwidth > 0 && host.liveBandwidth + move.bandwidth > this.limits.linkBandwidth) return false;
    this.add(move);
    return true;
  }

  /** Counts a move under way that admissions must leave room for. */
  add(move: CountedMove): void {
    const host = this.host(move.source);
    this.cluster++;
    host.moves++;
    if (move.live) host.liveBandwidth += move.bandwidth;
  }

  private host(name: string): { moves: number; liveBandwidth: number } {
    let host = this.byHost.get(name);
    if (!host) this.byHost.set(name, (host = { moves: 0, liveBandwidth: 0 }));
    return host;
  }
}
