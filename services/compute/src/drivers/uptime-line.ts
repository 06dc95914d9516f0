// A host's `uptime` line as Linux's procps prints it: what Nova's libvirt driver answers for a host's uptime.

export interface UptimeSample {
  /** The host's wall clock (shown in its local time, as `uptime` does). */
  now: Date;
  /** Seconds since the host came up. */
  upSeconds: number;
  /** Users logged in. */
  users: number;
  /** 1, 5 and 15 minute load averages (os.loadavg()). */
  loadavg: readonly number[];
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** procps's "93 days, 18:25" / " 2:33" / "5 min" part. */
function upFor(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const days = Math.floor(minutes / (60 * 24));
  const hours = Math.floor(minutes / 60) % 24;
  const dayPart = days ? `${days} day${days === 1 ? '' : 's'}, ` : '';
  return dayPart + (hours ? `${String(hours).padStart(2, ' ')}:${pad2(minutes % 60)}` : `${minutes % 60} min`);
}

/** e.g. " 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14" (clients parse it with a regex). */
export function uptimeLine(s: UptimeSample): string {
  const clock = `${pad2(s.now.getHours())}:${pad2(s.now.getMinutes())}:${pad2(s.now.getSeconds())}`;
  const users = `${String(s.users).padStart(2, ' ')} user${s.users === 1 ? '' : 's'}`;
  const load = [0, 1, 2].map((i) => (s.loadavg[i] ?? 0).toFixed(2)).join(', ');
  return ` ${clock} up ${upFor(s.upSeconds)}, ${users},  load average: ${load}`;
}
