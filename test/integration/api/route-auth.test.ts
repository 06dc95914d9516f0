// Every protected route of the assembled API, in every spelling a router may decode, refuses a caller without a token.
import { startAssembledApi, type AssembledApi } from '../../support/assembled-api';

interface Route {
  method: string;
  url: string;
}

/** Routes anyone may call: version discovery, the password login itself, and the dashboard's page (it holds no data). */
const PUBLIC = new Set([
  'GET /', 'GET /compute', 'GET /compute/', 'GET /compute/v2.1', 'GET /compute/v2.1/',
  'GET /image', 'GET /image/', 'GET /image/v2', 'GET /image/v2/',
  'GET /identity', 'GET /identity/', 'GET /identity/v3', 'GET /identity/v3/',
  'POST /identity/v3/auth/tokens',
  'GET /dashboard', 'GET /dashboard/', 'GET /dashboard/index.html', 'GET /dashboard/dashboard.js', 'GET /dashboard/dashboard.css',
]);

const isPublic = (r: Route) => PUBLIC.has(`${r.method === 'HEAD' ? 'GET' : r.method} ${r.url}`);

/** The route's path with each parameter filled in (a plausible id: the check must come before any lookup). */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, '3f1c2d4e-0000-4000-8000-000000000001');
}

/** The spellings of one path a client might send: as is, percent-escaped letters, doubled and trailing slashes. */
function spellings(path: string): { name: string; path: string; routed: boolean }[] {
  const escapeFirst = (seg: string) => (/^[a-z]/i.test(seg) ? `%${seg.charCodeAt(0).toString(16)}${seg.slice(1)}` : seg);
  const escaped = path.split('/').map(escapeFirst).join('/');
  const upper = path.split('/').map((seg) => (/^[a-z]/i.test(seg) ? `%${seg.charCodeAt(0).toString(16).toUpperCase()}${seg.slice(1)}` : seg)).join('/');
  return [
    { name: 'plain', path, routed: true },
    { name: 'percent-escaped', path: escaped, routed: true },
    { name: 'percent-escaped (upper hex)', path: upper, routed: true },
    { name: 'double slashes', path: path.replace(/\//g, '//'), routed: false },
    { name: 'leading double slash', path: `/${path}`, routed: false },
    { name: 'trailing slash', path: `${path}/`, routed: false },
    { name: 'query string', path: `${path}?all_tenants=1`, routed: true },
  ];
}

describe('authentication follows the matched route (route table walk)', () => {
  let api: AssembledApi;
  let url: string;
  const routes: Route[] = [];
  /**
   * Compute and image requests without a token that reached a matched route's handler (preHandler runs only
   * after every onRequest hook let them through). Identity routes check the token in the handler itself.
   */
  const reachedHandler: string[] = [];
  let walking = false;

  beforeAll(async () => {
    api = await startAssembledApi({}, (app) => {
      app.addHook('onRoute', (opts) => {
        for (const method of [opts.method].flat()) routes.push({ method: String(method), url: opts.url ?? opts.path });
      });
      app.addHook('preHandler', async (req) => {
        const route = req.routeOptions.url;
        if (walking && route && /^\/(compute|image)\//.test(route)) reachedHandler.push(`${req.method} ${req.url}`);
      });
    });
    url = api.url;
  });

  afterAll(async () => {
    await api?.close();
  });

  const send = async (method: string, path: string, token?: string) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['x-auth-token'] = token;
    if (['POST', 'PUT', 'PATCH'].includes(method)) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(['POST', 'PUT', 'PATCH'].includes(method) ? { body: '{}' } : {}) });
    const text = await res.text();
    return { status: res.status, text };
  };

  it('knows the whole route table', () => {
    const protectedRoutes = routes.filter((r) => !isPublic(r));
    // A shrinking table would make the walk below prove less: the API has nearly a hundred protected routes.
    expect(protectedRoutes.length).toBeGreaterThan(90);
    expect(routes.some((r) => r.url === '/compute/v2.1/os-availability-zone')).toBe(true);
    expect(routes.some((r) => r.url === '/image/v2/images/:id')).toBe(true);
  });

  it('answers 401 on every protected route in every spelling, and no request reaches a handler', async () => {
    const outcomes: string[] = [];
    let tried = 0;
    const protectedRoutes = routes.filter((r) => !isPublic(r));
    walking = true;
    for (const route of protectedRoutes) {
      for (const spelling of spellings(concrete(route.url))) {
        for (const token of [undefined, '', 'gAAAAAnot-a-token']) {
          tried++;
          const res = await send(route.method, spelling.path, token);
          const ok = spelling.routed ? res.status === 401 : res.status === 401 || res.status === 404;
          if (!ok) outcomes.push(`${route.method} ${spelling.path} (${spelling.name}, token ${JSON.stringify(token)}) → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
    }
    walking = false;
    process.stdout.write(`route-auth: ${protectedRoutes.length} protected routes × 7 spellings × 3 token cases = ${tried} requests\n`);
    expect(outcomes).toEqual([]);
    expect(reachedHandler).toEqual([]);
    expect(tried).toBe(protectedRoutes.length * 7 * 3);
    // Some two thousand requests: seconds alone, far more on a loaded machine.
  }, 180_000);

  it('still serves the public routes without a token', async () => {
    expect((await send('GET', '/compute/v2.1/')).status).toBe(200);
    expect((await send('GET', '/%63ompute/v2.1/')).status).toBe(200);
    expect((await send('GET', '/image/v2')).status).toBe(300);
  });

  it('the percent-escaped availability-zone route of the report answers 401', async () => {
    const res = await send('GET', '/%63ompute/v2.1/os-availability-zone');
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toEqual({ unauthorized: { code: 401, message: expect.any(String) } });
  });
});
