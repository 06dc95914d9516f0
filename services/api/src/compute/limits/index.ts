// GET /limits: a project's absolute limits and what it uses of them; admins may ask about another project.
import type { FastifyRequest } from 'fastify';
import { BadRequest } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { single } from '../common/paging';
import { DEFAULT_QUOTAS, projectUsage, type ProjectUsage } from './quotas';

/** Limits dropped from the answer at a microversion (Nova's FILTERED_LIMITS and the 2.39 image meta removal). */
const REMOVED_SINCE: readonly { since: string; keys: readonly string[] }[] = [
  { since: '2.36', keys: ['maxSecurityGroups', 'maxSecurityGroupRules', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed'] },
  { since: '2.39', keys: ['maxImageMeta'] },
  { since: '2.57', keys: ['maxPersonality', 'maxPersonalitySize'] },
];

export function absoluteLimits(usage: ProjectUsage, v: ApiVersion): Record<string, number> {
  const q = DEFAULT_QUOTAS;
  // Floating IPs and security groups belong to the network service, which Ferry does not have: unlimited, unused.
  const all: Record<string, number> = {
    maxImageMeta: q.metadata_items, maxPersonality: q.injected_files, maxPersonalitySize: q.injected_file_content_bytes,
    maxSecurityGroups: -1, maxSecurityGroupRules: -1, maxServerMeta: q.metadata_items, maxServerGroups: q.server_groups,
    maxServerGroupMembers: q.server_group_members, maxTotalCores: q.cores, maxTotalFloatingIps: -1, maxTotalInstances: q.instances,
    maxTotalKeypairs: q.key_pairs, maxTotalRAMSize: q.ram,
    totalCoresUsed: usage.cores, totalFloatingIpsUsed: 0, totalInstancesUsed: usage.instances, totalRAMUsed: usage.ram,
    totalSecurityGroupsUsed: 0, totalServerGroupsUsed: 0,
  };
  for (const removal of REMOVED_SINCE) {
    if (versionIn(v, removal.since)) for (const key of removal.keys) delete all[key];
  }
  return all;
}

export const limitRoutes: RoutesPlugin = async (app, { deps }) => {
  app.get('/limits', async (req: FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>) => {
    const query = req.query ?? {};
    if (versionIn(req.apiVersion, '2.75')) {
      for (const name of Object.keys(query)) if (name !== 'tenant_id') throw new BadRequest(`Additional properties are not allowed ('${name}' was unexpected)`);
    }
    let projectId = req.ctx.project_id;
    if ('tenant_id' in query) {
      requireAdmin(req.ctx, 'os_compute_api:limits:other_project');
      projectId = single(query.tenant_id, 'tenant_id') ?? projectId;
    }
    const usage = await projectUsage(deps.db.dataSource.manager, projectId);
    return { limits: { rate: [], absolute: absoluteLimits(usage, req.apiVersion) } };
  });
};
