import { uptimeLine } from './uptime-line';

/** The regex openstackclient's `hypervisor show` splits the line with. */
const OSC = /\s*(.+)\sup\s+(.+),\s+(.+)\susers?,\s+load average:\s(.+)/;

describe('uptime line', () => {
  const at = (h: number, m: number, s: number) => new Date(2026, 0, 2, h, m, s);

  it("prints Linux's line for a host up for days", () => {
    const upSeconds = ((93 * 24 + 18) * 60 + 25) * 60 + 42;
    expect(uptimeLine({ now: at(8, 32, 11), upSeconds, users: 12, loadavg: [0.2, 0.12, 0.144] }))
      .toBe(' 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14');
  });

  it('pads hours, counts one day and one user in the singular, and shows minutes alone under an hour', () => {
    expect(uptimeLine({ now: at(17, 37, 14), upSeconds: (2 * 60 + 33) * 60, users: 3, loadavg: [0.33, 0.36, 0.34] }))
      .toBe(' 17:37:14 up  2:33,  3 users,  load average: 0.33, 0.36, 0.34');
    expect(uptimeLine({ now: at(0, 0, 5), upSeconds: 24 * 3600 + 7 * 60, users: 1, loadavg: [1, 2, 3] }))
      .toBe(' 00:00:05 up 1 day, 7 min,  1 user,  load average: 1.00, 2.00, 3.00');
    expect(uptimeLine({ now: at(9, 5, 0), upSeconds: 59, users: 0, loadavg: [0, 0, 0] }))
      .toBe(' 09:05:00 up 0 min,  0 users,  load average: 0.00, 0.00, 0.00');
  });

  it('splits as openstackclient expects', () => {
    const m = OSC.exec(uptimeLine({ now: at(17, 37, 14), upSeconds: 3 * 86400 + 3600, users: 0, loadavg: [0.5, 0.25, 0.125] }));
    expect(m?.slice(1)).toEqual(['17:37:14', '3 days,  1:00', '0', '0.50, 0.25, 0.13']);
  });
});
