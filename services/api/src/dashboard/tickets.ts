// One-time tickets that let a browser's EventSource (which cannot send X-Auth-Token) open the dashboard's event
// stream: issued for a token to a caller who showed it, redeemed once, within seconds, by the process that issued it.
import { randomBytes } from 'node:crypto';

/** How long a ticket may wait for its stream to open. */
export const TICKET_TTL_MS = 30_000;
/** Tickets outstanding at once; past it the oldest are forgotten (a browser that lost one asks again). */
export const MAX_OUTSTANDING_TICKETS = 10_000;

export class DashboardTickets {
  // Map keeps insertion order: the first entries are the oldest.
  private readonly outstanding = new Map<string, { token: string; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new ticket standing for token. */
  issue(token: string): string {
    this.forgetExpired();
    while (this.outstanding.size >= MAX_OUTSTANDING_TICKETS) this.outstanding.delete(this.outstanding.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    this.outstanding.set(ticket, { token, expires: this.now() + TICKET_TTL_MS });
    return ticket;
  }

  /** The token a live ticket stands for; the ticket is spent either way. */
  redeem(ticket: string): string | undefined {
    const entry = this.outstanding.get(ticket);
    this.outstanding.delete(ticket);
    return entry && entry.expires > this.now() ? entry.token : undefined;
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [ticket, entry] of this.outstanding) {
      if (entry.expires > now) break;
      this.outstanding.delete(ticket);
    }
  }
}
