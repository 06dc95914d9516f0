// Dashboard tickets: each stands for its token once, within its time, and is unguessable.
import { DashboardTickets, MAX_OUTSTANDING_TICKETS, TICKET_TTL_MS } from './tickets';

describe('DashboardTickets', () => {
  let now: number;
  let tickets: DashboardTickets;

  beforeEach(() => {
    now = 1_000_000;
    tickets = new DashboardTickets(() => now);
  });

  it('redeems a ticket once for its token', () => {
    const t = tickets.issue('token-a');
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tickets.redeem(t)).toBe('token-a');
    expect(tickets.redeem(t)).toBeUndefined();
  });

  it('refuses an unknown or expired ticket', () => {
    expect(tickets.redeem('not-a-ticket')).toBeUndefined();
    const t = tickets.issue('token-a');
    now += TICKET_TTL_MS;
    expect(tickets.redeem(t)).toBeUndefined();
  });

  it('issues a different ticket every time', () => {
    const issued = new Set(Array.from({ length: 100 }, () => tickets.issue('token-a')));
    expect(issued.size).toBe(100);
  });

  it('forgets the oldest tickets past the limit', () => {
    const first = tickets.issue('first');
    for (let i = 1; i < MAX_OUTSTANDING_TICKETS; i++) tickets.issue(`t${i}`);
    const last = tickets.issue('last');
    expect(tickets.redeem(first)).toBeUndefined();
    expect(tickets.redeem(last)).toBe('last');
  });
});
