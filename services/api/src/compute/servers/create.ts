// POST /servers: validate everything, then in one transaction check quota and write the instances, then open
// their `create` actions and cast schedule_and_build_instances. A cast the bus refuses deletes what was written.
import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { advanceInstanceTask, Instance, startAction, type Flavor, type Image } from '@ferry/common/db';
import { FORCED_HOSTS_KEY, POWER_STATES, TASK_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestSpec } from '@ferry/common/domain';
import type { ApiDeps } from '../../api-deps';
import { versionIn } from '../../http/microversion';
import { instancesThatFit, projectUsage } from '../limits/quotas';
import { encodeServerAttrs } from './attrs';
import {
  checkMiscellany, checkNetworks, flavorCopy, instanceCounts, looseBool, resolveFlavor, resolveImage, resolvePlacement, securityGroupNames,
  type Placement,
} from './create-inputs';
import { deleteLocally } from './local-delete';
import { rpcContext, type ServerRpc } from './rpc';
import { createSchemaFor, type CreateServerBody, type CreateServerRequest } from './schemas';
import { validateBody } from './validate';
import { createdServerView } from './views';
import { crashPoint } from '@ferry/common/chaos';

const PASSWORD_CHARS = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const UID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

const randomString = (chars: string, n: number) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');

/** A host name from a display name (Nova's sanitize_hostname). */
function hostnameFrom(name: string, uuid: string): string {
  const h = name.toLowerCase().replace(/[ _]/g, '-').replace(/[^a-z0-9.-]/g, '').replace(/^[.-]+|[.-]+$/g, '').slice(0, 63);
  return h || `server-${uuid}`;
}

interface Plan {
  server: CreateServerRequest;
  flavor: Flavor;
  image: Image;
  placement: Placement;
  counts: { min: number; max: number };
  securityGroups: string[];
  adminPass: string;
  reservationId: string;
}

/** The forced hosts, kept on the instance for the reconciler, which schedules a lost build again with the same request. */
function forcedHostsEntry(hosts: string[]): Record<string, string> {
  return hosts.length > 0 ? { [FORCED_HOSTS_KEY]: JSON.stringify(hosts) } : {};
}

function instanceRows(req: FastifyRequest, plan: Plan, count: number): Partial<Instance>[] {
  const { server } = plan;
  const description = versionIn(req.apiVersion, '2.19') ? (server.description ?? null) : server.name;
  return Array.from({ length: count }, (_, index) => {
    const uuid = randomUUID();
    return {
      uuid,
      display_name: server.name,
      project_id: req.ctx.project_id,
      user_id: req.ctx.user_id,
      host: null,
      node: null,
      flavor: flavorCopy(plan.flavor),
      image_ref: plan.image.id,
      vm_state: VM_STATES.BUILDING,
      task_state: TASK_STATES.SCHEDULING,
      power_state: POWER_STATES.NOSTATE,
      progress: 0,
      locked: false,
      metadata: { ...(server.metadata ?? {}) },
      system_metadata: {
        ...forcedHostsEntry(plan.placement.forceHosts),
        ...encodeServerAttrs({
          description,
          requestedAz: plan.placement.zone,
          reservationId: plan.reservationId,
          launchIndex: index,
          hostname: hostnameFrom(count > 1 ? `${server.name}-${index + 1}` : server.name, uuid),
          userData: server.user_data ?? null,
          configDrive: looseBool(server.config_drive) ? 'True' : '',
          accessIpV4: server.accessIPv4 ?? null,
          accessIpV6: server.accessIPv6 ?? null,
          autoDiskConfig: server['OS-DCF:diskConfig'] === 'AUTO',
          tags: server.tags ? [...new Set(server.tags)] : [],
          securityGroups: plan.securityGroups,
          trustedCerts: server.trusted_image_certificates ?? null,
        }),
      },
    };
  });
}

async function plan(deps: ApiDeps, req: FastifyRequest, body: CreateServerBody): Promise<Plan> {
  const ds = deps.db.dataSource;
  const { server } = body;
  const counts = instanceCounts(server);
  checkNetworks(server.networks, req.apiVersion);
  const securityGroups = securityGroupNames(server);
  const placement = await resolvePlacement(ds, req.ctx, server);
  const flavor = await resolveFlavor(ds, req.ctx, server.flavorRef);
  const image = await resolveImage(ds, req.ctx, server, flavor);
  checkMiscellany(server);
  return {
    server, flavor, image, placement, counts, securityGroups,
    adminPass: server.adminPass ?? randomString(PASSWORD_CHARS, 12),
    reservationId: `r-${randomString(UID_CHARS, 8)}`,
  };
}

/** Quota check and insert under a per-project lock, so concurrent creates cannot both squeeze under the quota. */
async function writeInstances(deps: ApiDeps, req: FastifyRequest, p: Plan): Promise<Instance[]> {
  return deps.db.dataSource.transaction(async (em) => {
    await em.query('SELECT pg_advisory_xact_lock(hashtext($1)::bigint)', [`ferry-quota:${req.ctx.project_id}`]);
    const usage = await projectUsage(em, req.ctx.project_id);
    const count = instancesThatFit(usage, p.flavor, p.counts.min, p.counts.max);
    const rows = instanceRows(req, p, count);
    await em.getRepository(Instance).insert(rows);
    return em.getRepository(Instance).find({ where: rows.map((r) => ({ uuid: r.uuid! })) });
  });
}

export async function createServer(deps: ApiDeps, rpc: ServerRpc, req: FastifyRequest, reply: FastifyReply) {
  const body = validateBody<CreateServerBody>(req, createSchemaFor(req.apiVersion), req.body);
  const p = await plan(deps, req, body);
  const launchIndex = (i: Instance) => Number(i.system_metadata.launch_index);
  const instances = (await writeInstances(deps, req, p)).sort((a, b) => launchIndex(a) - launchIndex(b));
  const ds = deps.db.dataSource;
  const spec: RequestSpec = {
    flavor: flavorCopy(p.flavor), image_ref: p.image.id, project_id: req.ctx.project_id, availability_zone: p.placement.zone,
    ...(p.placement.forceHosts.length ? { force_hosts: p.placement.forceHosts } : {}), num_attempts: 1,
  };
  try {
    for (const instance of instances) await startAction(ds, req.ctx, instance.uuid, 'create');
    crashPoint('api.build.before_cast');
    await rpc.scheduler.scheduleAndBuildInstances(rpcContext(req.ctx), instances.map((i) => i.uuid), spec);
  } catch (err) {
    req.log.error({ err, instances: instances.map((i) => i.uuid) }, 'cannot hand the new servers to the scheduler; deleting them');
    for (const instance of instances) {
      if (await advanceInstanceTask(ds, instance.uuid, [TASK_STATES.SCHEDULING], TASK_STATES.DELETING)) await deleteLocally(ds, instance.uuid);
    }
    throw err;
  }
  if (looseBool(p.server.return_reservation_id)) return reply.code(202).send({ reservation_id: p.reservationId });
  const first = instances[0]!;
  const view = createdServerView(deps.publicUrl(), first, p.adminPass, p.securityGroups);
  return reply.code(202).header('location', (view.links as { href: string }[])[0]!.href).send({ server: view });
}
