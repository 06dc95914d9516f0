// The migration policy a move starts under: the cluster's settings as defaults, overridden per instance by its
// flavor's extra specs, its image's properties and its metadata. An entry that cannot apply is logged by key and
// skipped; nothing here fails the move. Live migrations use every knob; cold moves only a bandwidth a place sets.
import { Image, type Instance } from '@ferry/common/db';
import { policyInForce, type MigrationPolicy, type PolicyInForce, type PolicyLayer } from '@ferry/common/domain';
import type { ComputeContext } from './compute-context';
import { hostMigrationBandwidth } from './drivers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The policy when nothing overrides it: this host's settings. */
export function clusterPolicy(config: ComputeContext['config']): MigrationPolicy {
  return {
    bandwidth_bytes_per_s: hostMigrationBandwidth(config),
    max_downtime_ms: config.liveMigrationDowntimeMs,
    completion_timeout_s_per_gib: config.liveMigrationCompletionTimeout,
    auto_converge: config.livePermitAutoConverge,
    post_copy: config.livePermitPostCopy,
  };
}

/** The policy in force for `instance` now; skipped entries are logged with their key and place. */
export async function movePolicy(c: ComputeContext, migrationId: number, instance: Instance): Promise<PolicyInForce> {
  const policy = policyInForce(clusterPolicy(c.config), {
    server: instance.metadata, image: await imageProperties(c, instance), flavor: instance.flavor.extra_specs,
  });
  for (const r of policy.rejected) {
    c.log.warn({ migration_id: migrationId, instance_uuid: instance.uuid, key: r.key, source: r.source, value: r.value.slice(0, 64), problem: r.problem },
      `migration policy entry ${r.key} (${r.source}) ${r.problem}; ignored`);
  }
  return policy;
}

/**
 * The rate a cold move's disk copies keep to: a bandwidth the server, image or flavor sets. The cluster's own setting
 * is a live-migration figure and leaves disk copies unbounded.
 */
export function diskCopyCap(policy: PolicyInForce): { value: number; source: PolicyLayer } | undefined {
  const { value, source } = policy.bandwidth_bytes_per_s;
  return source === 'default' ? undefined : { value, source };
}

/** The properties of the image the instance booted from (deleted or not); none when it has no such image or it cannot be read. */
async function imageProperties(c: ComputeContext, instance: Instance): Promise<Record<string, string> | null> {
  if (!UUID.test(instance.image_ref)) return null;
  try {
    const image = await c.ds.getRepository(Image).findOne({ where: { id: instance.image_ref }, withDeleted: true });
    return image?.properties ?? null;
  } catch (err) {
    c.log.warn({ instance_uuid: instance.uuid, image_ref: instance.image_ref, err: (err as Error).message }, 'cannot read the image\'s migration policy; its properties are left out');
    return null;
  }
}
