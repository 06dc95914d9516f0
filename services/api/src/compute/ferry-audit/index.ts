// GET /os-ferry-audit (Ferry's extension, admin only): every compute host is asked what its driver holds and the
// answers are compared with the database; problems per instance, and the hosts that did not answer. Read only.
import { runAudit } from '@ferry/compute/audit';
import { ComputeRpcApi } from '@ferry/compute/client';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { rpcContext } from '../servers/rpc';

const POLICY = 'os_compute_api:os-ferry-audit';

/** How long each host has to answer: a silent one is named as not answering, it does not hold the audit up. */
const HOST_ANSWER_TIMEOUT_MS = 10_000;

export const ferryAuditRoutes: RoutesPlugin = async (app, { deps }) => {
  const timeoutMs = Math.min(deps.config.rpcTimeoutSeconds * 1000, HOST_ANSWER_TIMEOUT_MS);
  const compute = new ComputeRpcApi(deps.transport, { timeoutMs, versionCap: deps.config.upgradeLevelsCompute });

  app.get('/os-ferry-audit', async (req) => {
    requireAdmin(req.ctx, POLICY);
    return { audit: await runAudit(deps.db.dataSource, compute, rpcContext(req.ctx), timeoutMs) };
  });
};
