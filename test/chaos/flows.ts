// The flows a user (an admin) drives through the Compute API, step by step. A step's request may fail (the API died
// on it) or be refused (the state moved on): the flow goes on with what the state allows, as a user would.
import type { ChaosClient } from './client';
import type { ReconnectingDb } from './db';
import { loadInstance, loadMigrations, TERMINAL_MIGRATION, type InstanceRow, type MigrationRow } from './invariants';
import type { Flow } from './matrix';

/**
 * Flavors with no root disk size: the fake driver makes an empty disk the harness fills to DISK_BYTES, so hashing
 * and copying a disk costs milliseconds, not the seconds a 1 GiB one would (moves copy a disk by its file size).
 */
export const FLAVOR = { name: 'chaos.small', ram: 128, vcpus: 1, disk: 0 };
export const RESIZED_FLAVOR = { name: 'chaos.big', ram: 256, vcpus: 1, disk: 0 };
export const DISK_BYTES = 8 * 1024 * 1024;
/** A guest dirtying its RAM faster than any link: its live migration runs until it is aborted or forced. */
export const BUSY_GUEST = { 'ferry:dirty_rate_mib_s': '4096' };

export interface FlowEnv {
  client: ChaosClient;
  db: ReconnectingDb;
  uuid: string;
  source: string;
  dest: string;
  /** Latest time a step may wait until. */
  readonly deadline: number;
  /** Before the user confirms or reverts: the moment to take the source disk's hash (it is powered off). */
  beforeDecision(): Promise<void>;
  /** Kills a compute and keeps the supervisor from restarting it (a dead host). */
  holdDown(host: string): Promise<void>;
  /** Starts a held compute again (armed if the cell's crash point is its and has not struck yet). */
  bringBack(host: string): Promise<void>;
  note(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function snapshot(env: Pick<FlowEnv, 'db' | 'uuid'>): Promise<{ inst?: InstanceRow; migrations: MigrationRow[] }> {
  return env.db.use(async (c) => ({ inst: await loadInstance(c, env.uuid), migrations: await loadMigrations(c, env.uuid) }));
}

/** No task, every record terminal or awaiting the user's confirm (VERIFY_RESIZE). */
function settled(s: { inst?: InstanceRow; migrations: MigrationRow[] }): boolean {
  if (!s.inst || s.inst.task_state !== null) return false;
  return s.migrations.every((m) => TERMINAL_MIGRATION.includes(m.status) || (m.status === 'finished' && s.inst!.vm_state === 'resized'));
}

/** Polls until pred holds or the deadline passes; the last snapshot either way. */
export async function waitFor(env: FlowEnv, pred: (s: Awaited<ReturnType<typeof snapshot>>) => boolean, intervalMs = 150): Promise<Awaited<ReturnType<typeof snapshot>>> {
  for (;;) {
    const s = await snapshot(env).catch(() => ({ migrations: [] as MigrationRow[] }));
    if (pred(s) || Date.now() > env.deadline) return s;
    await sleep(intervalMs);
  }
}

const waitSettled = (env: FlowEnv) => waitFor(env, settled);

async function act(env: FlowEnv, what: string, method: string, path: string, body?: unknown): Promise<number> {
  const res = await env.client.act(method, path, body);
  env.note(`${what}: ${res.status}`);
  return res.status;
}

const action = (env: FlowEnv, what: string, body: unknown) => act(env, what, 'POST', `/servers/${env.uuid}/action`, body);

async function coldMove(env: FlowEnv, start: () => Promise<number>, decide: 'confirmResize' | 'revertResize'): Promise<void> {
  await start();
  const s = await waitSettled(env);
  if (s.inst?.vm_state !== 'resized') return;
  await env.beforeDecision();
  await action(env, decide, { [decide]: null });
  await waitSettled(env);
}

async function liveThen(env: FlowEnv, then: (migrationId: number) => Promise<unknown>): Promise<void> {
  await action(env, 'os-migrateLive', { 'os-migrateLive': { host: env.dest, block_migration: 'auto' } });
  const s = await waitFor(env, (x) => settled(x) || x.migrations.some((m) => m.status === 'running'));
  const running = s.migrations.find((m) => m.status === 'running');
  if (running) await then(running.id);
  await waitSettled(env);
}

/** Forces a compute service down or up (os-services at 2.53+: by its id); retried while refused (`done` evacuations remain). */
async function forceDown(env: FlowEnv, host: string, down: boolean): Promise<void> {
  for (;;) {
    const list = await env.client.act('GET', `/os-services?host=${host}&binary=nova-compute`);
    const id = (list.body as { services?: { id: string }[] } | undefined)?.services?.[0]?.id;
    const status = id ? await act(env, `force ${host} ${down ? 'down' : 'up'}`, 'PUT', `/os-services/${id}`, { forced_down: down }) : 0;
    if (status === 200 || Date.now() > env.deadline) return;
    await sleep(500);
  }
}

const evacuationOver = (s: Awaited<ReturnType<typeof snapshot>>) =>
  s.migrations.some((m) => m.migration_type === 'evacuation') && s.migrations.every((m) => m.migration_type !== 'evacuation' || !['accepted', 'pre-migrating', 'done'].includes(m.status));

async function evacuate(env: FlowEnv, alive: boolean): Promise<void> {
  if (!alive) await env.holdDown(env.source);
  await forceDown(env, env.source, true);
  await action(env, 'evacuate', { evacuate: { host: env.dest } });
  await waitFor(env, (s) => s.inst?.task_state === null && s.migrations.every((m) => !['accepted', 'pre-migrating'].includes(m.status)));
  if (!alive) await env.bringBack(env.source);
  await waitFor(env, evacuationOver);
  await forceDown(env, env.source, false);
  await waitSettled(env);
}

/** Runs the flow's steps after the instance exists (a build's own step is its create, made by the cell). */
export async function runFlow(flow: Flow, env: FlowEnv): Promise<void> {
  switch (flow) {
    case 'build':
      await waitSettled(env);
      return;
    case 'cold-confirm':
      return coldMove(env, () => action(env, 'migrate', { migrate: { host: env.dest } }), 'confirmResize');
    case 'resize-revert':
      return coldMove(env, () => action(env, 'resize', { resize: { flavorRef: RESIZED_FLAVOR.name } }), 'revertResize');
    case 'live-block':
      await action(env, 'os-migrateLive', { 'os-migrateLive': { host: env.dest, block_migration: true } });
      await waitSettled(env);
      return;
    case 'live-shared':
      await action(env, 'os-migrateLive', { 'os-migrateLive': { host: env.dest, block_migration: false } });
      await waitSettled(env);
      return;
    case 'abort':
      return liveThen(env, (id) => act(env, 'abort', 'DELETE', `/servers/${env.uuid}/migrations/${id}`));
    case 'force-complete':
      return liveThen(env, (id) => act(env, 'force_complete', 'POST', `/servers/${env.uuid}/migrations/${id}/action`, { force_complete: null }));
    case 'evacuate':
      return evacuate(env, false);
    case 'evacuate-alive':
      return evacuate(env, true);
  }
}
