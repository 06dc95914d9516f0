// Nova's instance notification payloads (InstanceActionPayload and its resize_prep and rescue variants) built from an Instance row.
import type { Instance, InstanceFlavor } from '../db/entities/instance';
import { POWER_STATES, powerStateName } from '../domain/instance-states';
import type { RequestContext } from '../rpc/context';
import type { NovaObject } from '../rpc/transport';
import { novaObject } from './nova-object';

/** Nova's versions of the payloads built here; a field added or changed means a version bump, as in Nova. */
export const PAYLOAD_VERSIONS = Object.freeze({
  InstanceActionPayload: '1.7',
  InstanceActionResizePrepPayload: '1.2',
  InstanceActionRescuePayload: '1.2',
  FlavorPayload: '1.4',
});

/** What the payload reads from an instance row, so callers may pass a row or a test's plain object. */
export type InstanceSnapshot = Pick<
  Instance,
  | 'uuid'
  | 'display_name'
  | 'project_id'
  | 'user_id'
  | 'host'
  | 'node'
  | 'flavor'
  | 'image_ref'
  | 'vm_state'
  | 'task_state'
  | 'power_state'
  | 'progress'
  | 'locked'
  | 'metadata'
  | 'launched_at'
  | 'created_at'
  | 'updated_at'
  | 'deleted_at'
>;

/** Who asked for the action; Nova copies it into request_id and action_initiator_user/project. */
export type Initiator = Partial<Pick<RequestContext, 'request_id' | 'user_id' | 'project_id'>>;

/**
 * InstanceActionPayload: the payload of instance.<action>.start/.end/.error (resize, live_migration_*, …).
 * extra is merged into the data last, so it can add a subclass's fields or override any field.
 */
export function instanceActionPayload(instance: InstanceSnapshot, extra: Record<string, unknown> = {}, initiator?: Initiator): NovaObject {
  return novaObject('InstanceActionPayload', PAYLOAD_VERSIONS.InstanceActionPayload, { ...instanceActionData(instance, initiator), ...extra });
}

/** InstanceActionResizePrepPayload: instance.resize_prep.start/.end, with the flavor being resized to. */
export function resizePrepPayload(instance: InstanceSnapshot, newFlavor: InstanceFlavor | null, initiator?: Initiator): NovaObject {
  return novaObject('InstanceActionResizePrepPayload', PAYLOAD_VERSIONS.InstanceActionResizePrepPayload, {
    ...instanceActionData(instance, initiator),
    new_flavor: newFlavor ? flavorPayload(newFlavor) : null,
  });
}

/** InstanceActionRescuePayload: instance.rescue.start/.end, with the image the rescue boots. */
export function rescuePayload(instance: InstanceSnapshot, rescueImageRef: string | null, initiator?: Initiator): NovaObject {
  return novaObject('InstanceActionRescuePayload', PAYLOAD_VERSIONS.InstanceActionRescuePayload, {
    ...instanceActionData(instance, initiator),
    rescue_image_ref: rescueImageRef,
  });
}

/** FlavorPayload from the copy of the flavor an instance carries; fields that copy lacks are left out, as Nova leaves unset ones. */
export function flavorPayload(flavor: InstanceFlavor): NovaObject {
  return novaObject('FlavorPayload', PAYLOAD_VERSIONS.FlavorPayload, {
    flavorid: flavor.flavorid,
    name: flavor.name,
    memory_mb: flavor.memory_mb,
    vcpus: flavor.vcpus,
    root_gb: flavor.root_gb,
    ephemeral_gb: flavor.ephemeral_gb,
    swap: flavor.swap,
    extra_specs: { ...flavor.extra_specs },
  });
}

/** Nova's InstancePowerStateField value for a power_state number: the lowercased name, except NOSTATE. */
export function powerStateValue(powerState: number): string {
  // Nova's field calls "no state" 'pending', not 'nostate'.
  return powerState === POWER_STATES.NOSTATE ? 'pending' : powerStateName(powerState).toLowerCase();
}

/** A timestamp as Nova's DateTimeField writes it: ISO 8601 UTC to the second. */
export function novaTime(date: Date | null | undefined): string | null {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/** InstancePayload's fields that Ferry tracks; the rest (ip_addresses, block_devices, key_name, …) are left out rather than made up. */
function instanceActionData(instance: InstanceSnapshot, initiator: Initiator = {}): Record<string, unknown> {
  return {
    uuid: instance.uuid,
    user_id: instance.user_id,
    tenant_id: instance.project_id,
    display_name: instance.display_name,
    host: instance.host,
    node: instance.node,
    flavor: flavorPayload(instance.flavor),
    image_uuid: instance.image_ref,
    created_at: novaTime(instance.created_at),
    launched_at: novaTime(instance.launched_at),
    updated_at: novaTime(instance.updated_at),
    deleted_at: novaTime(instance.deleted_at),
    state: instance.vm_state,
    task_state: instance.task_state,
    power_state: powerStateValue(instance.power_state),
    progress: instance.progress,
    metadata: { ...instance.metadata },
    locked: instance.locked,
    // Nova sends the request id only for requests a user made, not for periodic tasks.
    request_id: initiator.user_id && initiator.project_id ? (initiator.request_id ?? null) : null,
    action_initiator_user: initiator.user_id ?? null,
    action_initiator_project: initiator.project_id ?? null,
    fault: null,
  };
}
