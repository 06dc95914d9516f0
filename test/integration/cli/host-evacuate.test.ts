// `ferry host evacuate` from another process against a running `ferry up`: refused while the host is up (exit 2, Nova's
// message); once compute-1 is forced down, every server is rebuilt on the other hosts, at most N at a time, with
// progress and a summary (exit 0), and compute-1 (alive, forced down) pauses and then destroys its stale copies.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runFerry } from '../../support/ferry-process';
import { EvacuationCloud } from '../../support/host-evacuation';

jest.setTimeout(240_000);

describe('ferry host evacuate (against ferry up: embedded database, in-process bus)', () => {
  let cloud: EvacuationCloud;

  beforeAll(async () => {
    cloud = await EvacuationCloud.start();
    await cloud.buildOnFirstHost(6);
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
  });

  it('refuses while the host is up, naming it, and changes nothing', async () => {
    const res = await runFerry(['host', 'evacuate', 'compute-1'], cloud.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Compute service of compute-1 is still in use.');
    expect((await cloud.servers()).every((s) => s.status === 'ACTIVE' && s['OS-EXT-SRV-ATTR:host'] === 'compute-1')).toBe(true);
  });

  it('404 for a host Ferry does not know', async () => {
    const res = await runFerry(['host', 'evacuate', 'nowhere'], cloud.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Compute host nowhere not found.');
  });

  it('evacuates every server of a forced-down host, two at a time, with progress and a summary', async () => {
    const run = await cloud.evacuate('compute-1', 2);
    expect({ code: run.cli.code, stderr: run.cli.stderr }).toEqual({ code: 0, stderr: '' });
    const running = [...run.cli.stdout.matchAll(/evacuated \d+\/6, running (\d+), waiting \d+, failed 0/g)].map((m) => Number(m[1]));
    expect(running.length).toBeGreaterThan(0);
    expect(Math.max(...running)).toBeLessThanOrEqual(2);
    expect(run.cli.stdout).toMatch(/host compute-1: 6 evacuated, 0 failed, 0 skipped in [\d.]+ s \(concurrency 2\)/);
    expect(new Set(run.servers.map((s) => s['OS-EXT-SRV-ATTR:host']))).toEqual(new Set(['compute-2', 'compute-3']));
    // compute-1 runs (forced down, not dead): it fences its copies of the evacuated servers without a restart.
    for (const s of run.servers) {
      await expect(eventuallyGone(join(cloud.stateDir, 'hosts', 'compute-1', 'instances', s.id))).resolves.toBe(true);
    }
    const records = (await cloud.api('GET', '/os-migrations?migration_type=evacuation', undefined, '2.80')).body.migrations;
    expect(records).toHaveLength(6);
  });
});

async function eventuallyGone(path: string, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
