// The migration policy a move starts under: the cluster's settings as defaults, overridden per instance by its
// flavor's extra specs, its image's properties and its metadata. An entry that cannot apply is logged by key and
// skipped; nothing here fails the move. Live migrations use every knob; cold moves only a bandwidth a place sets.
import type { Instance } from '@ferry/common/db';
import { policyInForce, type MigrationPolicy, type PolicyInForce, type PolicyLayer } from '@ferry/common/domain';
import type { ComputeContext } from './compute-context';
import { hostMigrationBandwidth } from './drivers';

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

/**
 * The policy in force for `instance` now, from its metadata, flavor and the image properties read with it (the step's
 * one read of its move); skipped entries are logged with their key and place.
 */
export function movePolicy(
  c: ComputeContext, migrationId: number, instance: Instance, imageProperties: Readonly<Record<string, string>> | null,
): PolicyInForce {
  const policy = policyInForce(clusterPolicy(c.config), { server: instance.metadata, image: imageProperties, flavor: instance.flavor.extra_specs });
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
