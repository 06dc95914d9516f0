// os-stop, os-start, reboot, pause, unpause, suspend, resume: owner or admin; each a CAS on task_state, then a cast to the host.
import { Type } from '@sinclair/typebox';
import type { Instance } from '@ferry/common/db';
import type { RequestContext } from '@ferry/common/rpc';
import type { RebootType } from '@ferry/compute/client';
import { acceptTask } from './accept';
import { TASK_RULES, type TaskRule } from './rules';
import { bareAction } from './schemas';
import type { ActionEnv, ServerAction } from './types';

type Cast = (env: ActionEnv, ctx: RequestContext, host: string, uuid: string) => Promise<void>;

function powerAction(name: string, rule: TaskRule, cast: Cast): ServerAction {
  return {
    name,
    schema: bareAction(name),
    async run(env: ActionEnv, instance: Instance) {
      await acceptTask(env.deps.db.dataSource, env.req.ctx, instance, rule, (ctx, host) => cast(env, ctx, host, instance.uuid));
      return { status: 202 };
    },
  };
}

const RebootBody = Type.Object({
  reboot: Type.Object({
    type: Type.Union(['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'].map((t) => Type.Literal(t))),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const reboot: ServerAction = {
  name: 'reboot',
  schema: RebootBody,
  async run(env, instance, body) {
    const type = String((body.reboot as { type: string }).type).toUpperCase() as RebootType;
    const rule = type === 'HARD' ? TASK_RULES.hardReboot : TASK_RULES.softReboot;
    await acceptTask(env.deps.db.dataSource, env.req.ctx, instance, rule, (ctx, host) => env.rpc.compute.rebootInstance(ctx, host, instance.uuid, type));
    return { status: 202 };
  },
};

export const POWER_ACTIONS: readonly ServerAction[] = [
  powerAction('os-stop', TASK_RULES.stop, (env, ctx, host, uuid) => env.rpc.compute.stopInstance(ctx, host, uuid)),
  powerAction('os-start', TASK_RULES.start, (env, ctx, host, uuid) => env.rpc.compute.startInstance(ctx, host, uuid)),
  reboot,
  powerAction('pause', TASK_RULES.pause, (env, ctx, host, uuid) => env.rpc.compute.pauseInstance(ctx, host, uuid)),
  powerAction('unpause', TASK_RULES.unpause, (env, ctx, host, uuid) => env.rpc.compute.unpauseInstance(ctx, host, uuid)),
  powerAction('suspend', TASK_RULES.suspend, (env, ctx, host, uuid) => env.rpc.compute.suspendInstance(ctx, host, uuid)),
  powerAction('resume', TASK_RULES.resume, (env, ctx, host, uuid) => env.rpc.compute.resumeInstance(ctx, host, uuid)),
];
