// `cleanup` of one instance, run by the API for an admin: gather what the database and every host say, decide with the
// rules (cleanup-verdict), then act: the hosts' steps first (each idempotent, refused by the host if its copy changed),
// then the database (the move's end through advanceMigration as `api`, the instance's host, node and claims, its task
// cleared), recorded as instance action `cleanup`. A refusal changes nothing; a run cut short is finished by the next.
import type { DataSource } from 'typeorm';
import {
  advanceMigration, claimResources, failAction, finishAction, computeNodesOf, flavorResources, noteActionEvent, releaseClaim, startAction,
  updateInstanceIf, withActionEvent, type Instance,
} from '@ferry/common/db';
import { Conflict, POWER_STATES, VM_STATES, type TaskState } from '@ferry/common/domain';
import { crashPoint } from '@ferry/common/chaos';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '../client/rpcapi';
import { gatherCleanupFacts } from './cleanup-facts';
import { cleanupVerdict, type CleanupCopy, type CleanupFacts, type CleanupPlan, type HostStep } from './cleanup-verdict';

export const CLEANUP_ACTION = 'cleanup';

export interface CleanupReport {
  instance_uuid: string;
  /** `nothing_to_do` or `converged` (a refusal is an error, not a report). */
  result: 'nothing_to_do' | 'converged';
  rule: string;
  outcome: string | null;
  reason: string;
  found: {
    database: { host: string | null; vm_state: string; task_state: string | null; claims: string[]; move: CleanupFacts['move'] };
    /** Every compute host with what it holds of the instance (null: nothing). */
    hosts: { host: string; holds: Omit<CleanupCopy, 'host'> | null }[];
  };
  /** What was done, in order. */
  done: string[];
}

export async function runCleanup(
  ds: DataSource, compute: ComputeRpcApi, ctx: RequestContext, instance: Instance, timeoutMs: number,
): Promise<CleanupReport> {
  const { facts, hosts } = await gatherCleanupFacts(ds, compute, ctx, instance, timeoutMs);
  const plan = cleanupVerdict(facts);
  if (plan.verdict === 'refuse') throw new Conflict(`Cannot clean up instance ${instance.uuid}: ${plan.reason}`);
  const report: CleanupReport = {
    instance_uuid: instance.uuid, result: plan.verdict === 'converge' ? 'converged' : 'nothing_to_do', rule: plan.rule,
    outcome: plan.verdict === 'converge' ? plan.outcome : null, reason: plan.reason, found: foundOf(facts, hosts), done: [],
  };
  await startAction(ds, ctx, instance.uuid, CLEANUP_ACTION);
  try {
    if (plan.verdict === 'converge') await converge(ds, compute, ctx, instance, facts, plan, report.done, timeoutMs);
  } catch (err) {
    await noteActionEvent(ds, ctx, instance.uuid, 'ferry_cleanup', null, 'Error', `${(err as Error).message}; done before: ${report.done.join('; ') || 'nothing'}`);
    await failAction(ds, ctx, instance.uuid);
    throw new Conflict(`Cleanup of instance ${instance.uuid} stopped: ${(err as Error).message}. Done before: ${report.done.join('; ') || 'nothing'}. Run cleanup again.`);
  }
  await noteActionEvent(ds, ctx, instance.uuid, 'ferry_cleanup', null, 'Success', `${report.result} (${report.rule}): ${report.reason}${report.done.length ? `; done: ${report.done.join('; ')}` : ''}`);
  await finishAction(ds, ctx, instance.uuid);
  return report;
}

type Converge = Extract<CleanupPlan, { verdict: 'converge' }>;

async function converge(
  ds: DataSource, compute: ComputeRpcApi, ctx: RequestContext, instance: Instance, facts: CleanupFacts, plan: Converge, done: string[], timeoutMs: number,
): Promise<void> {
  const good = plan.database.host;
  // The claim where the guest stays comes first: a host without room for it stops the cleanup before anything changed.
  if (!facts.claims.includes(good)) {
    if (!(await claimResources(ds, { consumer_uuid: instance.uuid, host: good, ...flavorResources(instance.flavor) }))) {
      throw new Error(`${good} has no room left for the instance's claim`);
    }
    done.push(`claimed the instance's resources on ${good}`);
  }
  for (const step of plan.steps) {
    await withActionEvent(ds, ctx, instance.uuid, `cleanup_${step.op}`, step.host, () =>
      compute.cleanupGuest(ctx, step.host, { instance_uuid: instance.uuid, op: step.op, ...(step.op === 'destroy' ? { expect: step.expect } : {}) }, timeoutMs));
    done.push(describeStep(step));
    if (step !== plan.steps.at(-1)) crashPoint('api.cleanup.mid_steps');
  }
  crashPoint('api.cleanup.after_steps');
  const move = plan.database.move;
  if (move) {
    const patch = move.to === 'failed' ? { last_error: `rolled back by cleanup: ${plan.reason}`.slice(0, 2000) } : {};
    if (!(await advanceMigration(ds, move.id, [move.from], move.to, 'api', patch))) throw new Error(`migration ${move.id} left ${move.from} meanwhile`);
    done.push(`migration ${move.id}: ${move.from} → ${move.to}`);
  }
  const runs = facts.instance.vm_state !== VM_STATES.PAUSED
    && (plan.steps.some((s) => s.op === 'resume_incoming') || facts.copies.some((c) => c.host === good && c.presence === 'running'));
  const node = (await computeNodesOf(ds, [good])).get(good)?.hypervisor_hostname ?? good;
  const placed = await updateInstanceIf(ds, instance.uuid, { task_states: [facts.instance.task_state as TaskState | null], host: facts.instance.host }, {
    host: good, node, task_state: null, ...(runs ? { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING } : {}),
  });
  if (!placed) throw new Error(`instance ${instance.uuid} changed meanwhile (host or task)`);
  if (facts.instance.host !== good) done.push(`instance host ${facts.instance.host ?? 'none'} → ${good}`);
  if (facts.instance.task_state) done.push(`task ${facts.instance.task_state} cleared`);
  for (const host of facts.claims.filter((h) => h !== good)) {
    await releaseClaim(ds, instance.uuid, host);
    done.push(`released the claim on ${host}`);
  }
}

function describeStep(step: HostStep): string {
  switch (step.op) {
    case 'destroy': return `destroyed the ${step.expect === 'absent' ? 'leftover disk' : `${step.expect} copy`} on ${step.host} (${step.why})`;
    case 'rename_back': return `renamed the guest on ${step.host} back to its own name (${step.why})`;
    case 'resume_incoming': return `resumed the guest on ${step.host} (${step.why})`;
    case 'persist_definition': return `wrote the guest's definition on ${step.host} from the database (${step.why})`;
  }
}

function foundOf(f: CleanupFacts, hosts: string[]): CleanupReport['found'] {
  return {
    database: { host: f.instance.host, vm_state: f.instance.vm_state, task_state: f.instance.task_state, claims: f.claims, move: f.move },
    hosts: hosts.map((host) => {
      const copy = f.copies.find((c) => c.host === host);
      if (!copy) return { host, holds: null };
      const { host: _h, ...holds } = copy;
      return { host, holds };
    }),
  };
}
