// What a fuzz run covered: requests, routes reached, statuses, and any 2xx a caller without a valid token got.
import type { Who } from './arbitraries';
import type { RouteInfo } from './route-table';
import { routeKey } from './route-table';

// Routes anyone may call: version documents and token issue (auth happens in the body there).
const PUBLIC = /^(GET|HEAD) (\/|\/compute\/?|\/compute\/v2\.1\/?|\/identity(\/v3)?\/?|\/image(\/v2)?\/?)$|^POST \/identity\/v3\/auth\/tokens$/;

export class FuzzStats {
  tried = 0;
  readonly routes = new Set<string>();
  readonly statuses = new Map<number, number>();
  /** Milliseconds spent per route, to see where a run's time goes. */
  readonly millis = new Map<string, number>();
  /** Protected routes that answered 2xx to an anonymous or bogus-token caller, with how often. */
  readonly unauthenticated2xx = new Map<string, number>();

  record(route: RouteInfo, who: Who, status: number, ms: number): void {
    this.tried += 1;
    this.millis.set(routeKey(route), (this.millis.get(routeKey(route)) ?? 0) + ms);
    this.routes.add(routeKey(route));
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    const key = routeKey(route);
    if ((who === 'anonymous' || who === 'bogus') && status < 300 && !PUBLIC.test(key)) {
      this.unauthenticated2xx.set(key, (this.unauthenticated2xx.get(key) ?? 0) + 1);
    }
  }

  summary(seed: number, runs: number, totalRoutes: number): string {
    const histogram = [...this.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    const lines = [
      `fuzz: seed ${seed}, ${runs} runs asked, ${this.tried} requests tried`,
      `fuzz: ${this.routes.size} of ${totalRoutes} routes hit`,
      `fuzz: statuses ${histogram}`,
    ];
    const slowest = [...this.millis].sort(([, a], [, b]) => b - a).slice(0, 3).map(([r, ms]) => `${r} ${Math.round(ms)} ms`);
    lines.push(`fuzz: most time in ${slowest.join(', ')}`);
    for (const [route, n] of this.unauthenticated2xx) lines.push(`fuzz: NOTE ${route} answered 2xx without a valid token (${n}×)`);
    return `${lines.join('\n')}\n`;
  }
}
