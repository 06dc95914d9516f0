// {"ferry-cleanup": null} (Ferry's extension, admin only): converge one instance from the database record of its last
// move and what every compute host holds of it (finish forward, roll back, rename back, adopt), or refuse with 409 and
// the reason (the hosts that disagree, a host that did not answer) having changed nothing. 200 with what was found and
// what was done; running it again, or on a healthy instance, does nothing.
import { Type } from '@sinclair/typebox';
import { runCleanup } from '@ferry/compute/cleanup';
import { requireAdmin } from '../../../http/policy';
import { rpcContext } from '../rpc';
import type { ServerAction } from './types';

const POLICY = 'os_compute_api:os-ferry-cleanup';

/** How long each host has to answer; a silent one stops the cleanup, named. */
const HOST_ANSWER_TIMEOUT_MS = 10_000;

export const ferryCleanup: ServerAction = {
  name: 'ferry-cleanup',
  schema: Type.Object({ 'ferry-cleanup': Type.Null() }, { additionalProperties: false }),
  async run(env, instance) {
    requireAdmin(env.req.ctx, POLICY);
    const timeoutMs = Math.min(env.deps.config.rpcTimeoutSeconds * 1000, HOST_ANSWER_TIMEOUT_MS);
    const report = await runCleanup(env.deps.db.dataSource, env.rpc.compute, rpcContext(env.req.ctx), instance, timeoutMs);
    return { status: 200, body: { cleanup: report } };
  },
};
