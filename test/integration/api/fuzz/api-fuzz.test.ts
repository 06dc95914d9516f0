// Random requests to every route of the assembled API, as admin, member and nobody: never a 5xx, every 4xx an
// OpenStack error body, and a 4xx leaves every table as it was. A fixed seed here; `npm run fuzz` runs longer.
import fc from 'fast-check';
import { planFor } from './arbitraries';
import { contractBreach } from './oracle';
import { concrete, describe as describeRequest, loadPools, send, type Credentials, type Pools } from './requests';
import { collectRoutes, routeKey, type RouteInfo } from './route-table';
import { startFuzzStack, type FuzzStack } from './stack';
import { FuzzStats } from './stats';

const CI_SEED = 1_764_790_000;
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? CI_SEED);
const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 1500);
// Pools of real ids are re-read now and then, so servers and flavors the run itself created get used too.
const POOL_REFRESH = 25;

describe('API fuzzing from the route table', () => {
  let stack: FuzzStack;
  let routes: RouteInfo[] = [];

  beforeAll(async () => {
    stack = await startFuzzStack((app) => { routes = collectRoutes(app); });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('collects the routes of the compute, image and identity APIs with their schemas', () => {
    const keys = routes.map(routeKey);
    expect(keys).toEqual(expect.arrayContaining([
      'POST /compute/v2.1/servers', 'POST /compute/v2.1/servers/:server_id/action', 'DELETE /compute/v2.1/servers/:server_id',
      'GET /image/v2/images/:id', 'POST /identity/v3/auth/tokens', 'PUT /compute/v2.1/os-services/:id',
    ]));
    expect(routes.filter((r) => r.bodies.length > 0).length).toBeGreaterThanOrEqual(8);
  });

  it('answers every request without a 5xx, with a fault body for a 4xx that changed nothing', async () => {
    const creds: Credentials = { admin: stack.tokens.admin, member: stack.tokens.member, subjects: [stack.tokens.spare] };
    const stats = new FuzzStats();
    let pools: Pools = await loadPools(stack.ds);
    const property = fc.asyncProperty(planFor(routes), async (plan) => {
      if (stats.tried % POOL_REFRESH === 0) pools = await loadPools(stack.ds);
      const route = routes[plan.route]!;
      const req = concrete(plan, route, pools, creds);
      const errorsBefore = stack.errors.length;
      const before = await stack.digest();
      const started = performance.now();
      const res = await send(stack.url, req);
      stats.record(route, plan.who, res.status, performance.now() - started);
      let breach = contractBreach(req, res);
      if (!breach && res.status >= 400 && (await stack.digest()) !== before) breach = `status ${res.status}, yet the database changed`;
      if (breach) {
        const log = stack.errors.slice(errorsBefore).join('').slice(0, 3000);
        throw new Error(`${routeKey(route)}: ${breach}\n  ${describeRequest(req, creds)}${log ? `\n  API log: ${log}` : ''}`);
      }
    });
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS });
    } catch (err) {
      // The database evolves request by request, so a replay runs the whole sequence again, not just the last request.
      process.stderr.write(`fuzz: replay the whole run with FERRY_FUZZ_SEED=${SEED} FERRY_FUZZ_RUNS=${RUNS} npm run fuzz\n`);
      throw err;
    } finally {
      process.stdout.write(stats.summary(SEED, RUNS, routes.length));
    }
  }, Math.max(60_000, RUNS * 250));
});
