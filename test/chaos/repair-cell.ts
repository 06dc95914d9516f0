// A repair cell: an active instance, what the database says Ferry last did (matrix REPAIRS), one failure of the fake
// driver made behind Ferry's back on the hosts' files, then an admin's `cleanup`, asked again while it refuses (Ferry's
// own recovery may be moving), beside every compute's periodic passes. It passes when the invariants hold and a
// further cleanup has nothing to do; a failure cleanup must refuse (two running copies) ends needing a human, provided
// cleanup refused, named both hosts and changed nothing.
import { guestName } from '@ferry/common/domain';
import { induceFailureMode } from '@ferry/compute/drivers';
import type { CellResult, ChaosHarness, Outcome } from './cell';
import type { FlowEnv } from './flows';
import { snapshot, waitFor } from './flows';
import { copiesOf, loadInstance } from './invariants';
import { REPAIRS, type Cell } from './matrix';
import { COMPUTES, type ComputeHost } from './services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type RepairCell = Extract<Cell, { kind: 'repair' }>;

export async function runRepairCell(h: ChaosHarness, cell: RepairCell, n: number): Promise<CellResult> {
  const source: ComputeHost = COMPUTES[n % 2]!;
  const dest: ComputeHost = COMPUTES[(n + 1) % 2]!;
  const steps: string[] = [];
  const result = (outcome: Outcome, detail: string, where: string, convergeMs?: number): CellResult =>
    ({ cell, outcome, detail, where, steps, ...(convergeMs === undefined ? {} : { convergeMs }) });
  const spec = REPAIRS[cell.mode];

  const made = await h.create(`chaos-${n}-repair-${cell.mode}`, source);
  const uuid = made.uuid;
  if (!uuid) return result('fail', `setup: create answered ${made.status} and no instance exists`, '-');
  const env = { db: h.db, uuid, deadline: Date.now() + 60_000 } as FlowEnv;
  const ready = await waitFor(env, (x) => x.inst?.vm_state === 'active' && x.inst.task_state === null);
  if (ready.inst?.vm_state !== 'active') return h.finish(result('fail', `setup: instance never became active (${ready.inst?.vm_state})`, '-'), uuid);
  const diskSha = await h.seedDisk(source, uuid);

  // What the database says Ferry last did, then the failure on the hosts.
  const inst = (await h.db.use((c) => loadInstance(c, uuid)))!;
  const record = spec.record;
  if (record) {
    await h.db.use(async (c) => {
      await c.query(
        `INSERT INTO migrations (instance_uuid, migration_type, status, source_compute, dest_compute, source_node, dest_node)
         VALUES ($1, 'live-migration', $2, $3, $4, $3, $4)`, [uuid, record.status, source, dest]);
      const host = record.host === 'source' ? source : dest;
      await c.query('UPDATE instances SET host = $2, node = $2, task_state = $3 WHERE uuid = $1', [uuid, host, record.task]);
      if (record.destClaim) {
        await c.query('INSERT INTO allocations (consumer_uuid, host, vcpus, memory_mb, disk_gb) VALUES ($1, $2, $3, $4, $5)',
          [uuid, dest, inst.flavor.vcpus, inst.flavor.memory_mb, inst.flavor.root_gb]);
      }
    });
  }
  await induceFailureMode(cell.mode, {
    stateDir: h.services.stateDir, spec: { uuid, name: guestName(uuid), flavor: { ...inst.flavor, id: 0, flavorid: '', name: '', ephemeral_gb: 0, swap: 0, extra_specs: {} }, image_ref: h.imageId }, source, other: dest,
  });
  steps.push(`${cell.mode} on ${source} → ${dest}${record ? ` (live record ${record.status}, instance on ${record.host})` : ''}`);

  // Cleanup, asked again while it refuses (or the API died in it: it is restarted unarmed); then only Ferry's periodic
  // passes until the invariants hold.
  if (cell.point) await h.services.start('api', { FERRY_CRASH_POINT: cell.point });
  let crashed = false;
  const restartApi = async () => {
    if (!h.services.exited('api')) return;
    crashed = true;
    steps.push(`api exited at ${cell.point ?? '?'}; restarted`);
    await h.services.start('api');
  };
  const from = Date.now();
  const deadline = from + h.opts.convergeSeconds * 1000;
  let refusal = '';
  let cleaned = false;
  for (;;) {
    const verdict = await h.verdict(uuid, diskSha);
    const named = verdict.ok ? renamedLeft(h, uuid) : undefined;
    if (verdict.ok && !named && cell.point && !crashed) {
      await h.services.start('api');
      return h.finish(result('fail', `crash point ${cell.point} was not reached in api`, verdict.where), uuid);
    }
    if (verdict.ok && !named) {
      const again = await h.client.act('POST', `/servers/${uuid}/action`, { 'ferry-cleanup': null });
      const report = (again.body as { cleanup?: { result?: string } } | undefined)?.cleanup;
      steps.push(`cleanup again: ${again.status} ${report?.result ?? ''}`.trim());
      if (again.status !== 200 || report?.result !== 'nothing_to_do') return h.finish(result('fail', `a second cleanup did not find nothing to do: ${again.status} ${JSON.stringify(again.body).slice(0, 300)}`, verdict.where), uuid);
      return h.finish(result('pass', '', verdict.where, Date.now() - from), uuid);
    }
    if (Date.now() > deadline) {
      if (cell.point && !crashed) await h.services.start('api');
      if (spec.human && refusal && !cleaned) return h.finish(result('human', refusal, verdict.where, Date.now() - from), uuid);
      return h.finish(result('fail', [named, ...verdict.violations, refusal && `cleanup refused: ${refusal}`].filter(Boolean).join('; '), verdict.where), uuid);
    }
    if (!cleaned) {
      const res = await h.client.act('POST', `/servers/${uuid}/action`, { 'ferry-cleanup': null });
      if (res.status === 0) {
        // The API died answering: wait for the process to be gone, restart it, ask again.
        for (let i = 0; i < 50 && !h.services.exited('api'); i++) await sleep(100);
        await restartApi();
        continue;
      }
      if (res.status === 200) {
        cleaned = true;
        steps.push(`cleanup: 200 ${(res.body as { cleanup: { outcome: string | null } }).cleanup.outcome ?? 'nothing to do'}`);
      } else {
        refusal = (res.body as { conflictingRequest?: { message?: string } } | undefined)?.conflictingRequest?.message ?? `HTTP ${res.status}`;
        if (!steps.at(-1)?.startsWith('cleanup refused')) steps.push(`cleanup refused: ${refusal.slice(0, 160)}`);
        // A refusal that names two running copies is final: stop asking, and wait out the deadline for a human.
        if (spec.human && /runs on .* and /.test(refusal) && (await snapshot(env)).inst?.host === source) return h.finish(result('human', refusal, verdict.where, Date.now() - from), uuid);
      }
    }
    await sleep(cleaned ? 300 : 1000);
  }
}

/** Why the guest's VM is not under its own name on the instance's host, if it is not. */
function renamedLeft(h: ChaosHarness, uuid: string): string | undefined {
  const running = copiesOf(h.services.stateDir, uuid).filter((c) => c.state === 'running');
  const wrong = running.filter((c) => c.name !== undefined && c.name !== guestName(uuid));
  return wrong.length ? `guest runs under ${wrong.map((c) => `${c.name} on ${c.host}`).join(', ')}` : undefined;
}
