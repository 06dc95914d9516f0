// `ferry host drain` from another process against a running `ferry up` (embedded database, in-process bus): a dry run
// prints the plan and changes nothing; a drain moves every server off (the running ones live, the stopped one cold),
// with progress and a summary; Ctrl-C stops following but not the drain, which `ferry drain cancel` then stops.
import { eventually, runFerry, startFerry } from '../../support/ferry-process';
import { EvacuationCloud } from '../../support/host-evacuation';

jest.setTimeout(300_000);

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('ferry host drain (against ferry up: embedded database, in-process bus)', () => {
  let cloud: EvacuationCloud;

  beforeAll(async () => {
    cloud = await EvacuationCloud.start();
    await cloud.buildOnFirstHost(6);
    const [first] = await cloud.servers();
    expect((await cloud.api('POST', `/servers/${first.id}/action`, { 'os-stop': null })).status).toBe(202);
    await eventually(async () => (await cloud.servers()).some((s) => s.status === 'SHUTOFF'), 60_000);
  }, 240_000);

  afterAll(async () => {
    await cloud?.close();
  });

  const hostOf = (s: Json) => s['OS-EXT-SRV-ATTR:host'];

  it('a dry run prints the plan, in order, and changes nothing', async () => {
    const res = await runFerry(['host', 'drain', 'compute-1', '--mode', 'live', '--dry-run'], cloud.env);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/dry run: drain of compute-1 in mode live would move 5 of 6 servers, in this order:/);
    expect(res.stdout).toMatch(/skip: stopped: mode live moves only active and paused servers/);
    expect((await runFerry(['drain', 'list'], cloud.env)).stdout).toBe('no drains\n');
    expect((await cloud.servers()).every((s) => hostOf(s) === 'compute-1')).toBe(true);
  });

  it('names a host Ferry does not know and a mode it has not', async () => {
    const unknown = await runFerry(['host', 'drain', 'nowhere'], cloud.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Compute host nowhere not found.');
    const mode = await runFerry(['host', 'drain', 'compute-1', '--mode', 'fast'], cloud.env);
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toMatch(/--mode.*fast/s);
  });

  it('drains the host: every server moves off, live or cold, with progress and a summary', async () => {
    const res = await runFerry(['host', 'drain', 'compute-1', '--concurrency', '2'], cloud.env, 240_000);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/Ctrl-C stops following; the drain goes on/);
    expect(res.stdout).toMatch(/moved \d\/6, failed 0, skipped 0, in flight [12], pending \d \(running\)/);
    expect(res.stdout).toMatch(/host compute-1: 6 moved, 0 failed, 0 skipped of 6 in [\d.]+ s \(drain [0-9a-f-]{36}, completed, mode auto, concurrency 2\)/);
    const servers = await cloud.servers();
    expect(servers.every((s) => hostOf(s) !== 'compute-1')).toBe(true);
    expect(servers.filter((s) => s.status === 'SHUTOFF')).toHaveLength(1);
    expect(servers.filter((s) => s.status === 'ACTIVE')).toHaveLength(5);
    const list = await runFerry(['drain', 'list'], cloud.env);
    expect(list.stdout).toMatch(/compute-1\s+completed .* moved 6\/6/);
    const services = (await cloud.api('GET', '/os-services?binary=nova-compute&host=compute-1')).body.services;
    expect(services[0]).toMatchObject({ status: 'disabled', disabled_reason: expect.stringMatching(/^ferry drain /) });
  });

  it('Ctrl-C stops following only; `ferry drain cancel` stops the drain', async () => {
    const follow = startFerry(['host', 'drain', 'compute-2', '--concurrency', '1'], cloud.env);
    const [, id] = await follow.waitFor(/drain ([0-9a-f-]{36}), \d+ servers/, 30_000);
    // Ctrl-C, then wait for the command to exit on its own (a SIGTERM sent meanwhile would race it).
    expect(await follow.stop('SIGINT')).toBe(130);
    expect(follow.output()).toContain(`stopped following drain ${id}; it goes on in the server.`);
    const cancel = await runFerry(['drain', 'cancel', id], cloud.env);
    expect({ code: cancel.code, stderr: cancel.stderr }).toEqual({ code: 0, stderr: '' });
    expect(cancel.stdout).toMatch(new RegExp(`drain ${id} of compute-2 is cancelling: it starts no new move`));
    const shown = await eventually(async () => {
      const res = await runFerry(['drain', 'show', id, '--json'], cloud.env);
      const d = JSON.parse(res.stdout);
      return d.done ? d : undefined;
    }, 120_000, 500);
    expect(shown).toMatchObject({ status: 'cancelled', in_flight: 0 });
    expect(shown.moved + shown.pending).toBe(shown.total);
  });
});
