// How many moves a drain may start now: at most `perHost` leaving one host, `perCluster` under way in the cluster, and
// live migrations leaving one host whose bandwidth caps together fit in the host's link (one alone always may).
import type { MoveInFlight } from '@ferry/common/db';
import { liveMigrationBandwidth } from '@ferry/common/domain';

export interface DrainLimits {
  perCluster: number;
  /** Bytes per second of each host's migration link. */
  linkBandwidth: number;
  /** Bytes per second the driver lets one live migration use. */
  driverBandwidth: number;
}

export interface MoveRequest {
  source: string;
  perHost: number;
  live: boolean;
  metadata: Record<string, string> | null;
}

/** What is in flight, and the admissions made so far in this pass. */
export class MoveBudget {
  private cluster = 0;
  private readonly byHost = new Map<string, { moves: number; liveBandwidth: number }>();

  constructor(private readonly limits: DrainLimits, inFlight: readonly MoveInFlight[]) {
    for (const m of inFlight) this.add(m);
  }

  /** Admits the move (and counts it) when every limit allows it; false leaves the budget as it was. */
  tryAdmit(move: MoveRequest): boolean {
    const host = this.host(move.source);
    if (this.cluster >= this.limits.perCluster || host.moves >= move.perHost) return false;
    if (move.live && host.liveBandwidth > 0 && host.liveBandwidth + this.bandwidth(move) > this.limits.linkBandwidth) return false;
    this.add(move);
    return true;
  }

  /** Counts a move under way that admissions must leave room for. */
  add(move: Pick<MoveInFlight, 'source' | 'live' | 'metadata'>): void {
    const host = this.host(move.source);
    this.cluster++;
    host.moves++;
    if (move.live) host.liveBandwidth += this.bandwidth(move);
  }

  private bandwidth(move: Pick<MoveInFlight, 'metadata'>): number {
    return liveMigrationBandwidth(this.limits.driverBandwidth, move.metadata);
  }

  private host(name: string): { moves: number; liveBandwidth: number } {
    let host = this.byHost.get(name);
    if (!host) this.byHost.set(name, (host = { moves: 0, liveBandwidth: 0 }));
    return host;
  }
}
