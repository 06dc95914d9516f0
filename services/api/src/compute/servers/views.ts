// Server representations exactly as Nova builds them, per microversion and per caller (admin-only fields).
import type { Instance } from '@ferry/common/db';
import { apiStatus, guestName } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { resourceLinks } from '../common/links';
import { serverAttrs, type ServerAttrs } from './attrs';
import { hostId } from './format';
import { hostStatusOf, type ComputeServiceState } from './host-status';
import type { ServerRecord } from './server-record';

/** A server's latest fault, its time as `created` shows it. */
export interface ServerFault {
  code: number;
  created: string;
  message: string;
  details: string | null;
}

/** The statuses whose views show the latest fault (Nova's view builder). */
export const FAULT_STATUSES: ReadonlySet<string> = new Set(['ERROR', 'DELETED']);

/** What a view needs beyond the instance row. */
export interface ViewContext {
  baseUrl: string;
  version: ApiVersion;
  isAdmin: boolean;
  /** The availability zone of each host (placed instances are in their host's). */
  hostZones: Map<string, string>;
  /** The latest fault per instance uuid (only consulted for ERROR and DELETED servers). */
  faults: Map<string, ServerFault>;
  hostStates: Map<string, ComputeServiceState>;
  /**
   * Views that are the same for every server naming the same image, or flavor before 2.47 (its id and links), built
   * once per response: a listing's servers mostly share a few.
   */
  shared: { images: Map<string, Json>; flavorLinks: Map<string, Json> };
}

/** A fresh `shared` for a ViewContext. */
export function sharedViews(): ViewContext['shared'] {
  return { images: new Map(), flavorLinks: new Map() };
}

export interface ShowOptions {
  /** Only the core fields: the PUT response before 2.75. */
  core?: boolean;
  /** server_groups: show and PUT from 2.71, never the detail list. */
  serverGroups?: boolean;
}

type Json = Record<string, unknown>;

/** Statuses that carry `progress` (Nova's view builder list). */
const PROGRESS_STATUSES = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);

/**
 * Fields that appear from a microversion on, in every full view (show, detail, PUT). Each is a store of a named
 * property: stores under computed keys made V8 turn each view into a dictionary (past a dozen properties added that
 * way), which JSON.stringify walks about half as fast, on every listing from 2.9.
 */
function addVersionedFields(server: Json, version: ApiVersion, instance: ServerRecord, attrs: ServerAttrs): void {
  if (versionIn(version, '2.9')) server.locked = instance.locked;
  if (versionIn(version, '2.19')) server.description = attrs.description;
  if (versionIn(version, '2.26')) server.tags = attrs.tags;
  if (versionIn(version, '2.63')) server.trusted_image_certificates = attrs.trustedCerts;
  if (versionIn(version, '2.73')) server.locked_reason = instance.locked_reason;
}

export function serverStatus(server: Pick<ServerRecord, 'deleted' | 'vm_state' | 'task_state'>): string {
  return server.deleted ? 'DELETED' : apiStatus(server.vm_state, server.task_state);
}

function bookmark(baseUrl: string, collection: string, id: string) {
  return [{ rel: 'bookmark', href: `${baseUrl}/compute/${collection}/${id}` }];
}

function imageView(vc: ViewContext, instance: ServerRecord) {
  const ref = instance.image_ref;
  if (!ref) return '';
  let view = vc.shared.images.get(ref);
  if (!view) vc.shared.images.set(ref, (view = { id: ref, links: bookmark(vc.baseUrl, 'images', ref) }));
  return view;
}

function flavorView(vc: ViewContext, instance: ServerRecord) {
  const f = instance.flavor;
  if (!f) return {};
  if (versionIn(vc.version, '2.47')) {
    return { vcpus: f.vcpus, ram: f.memory_mb, disk: f.root_gb, ephemeral: f.ephemeral_gb, swap: f.swap, original_name: f.name, extra_specs: f.extra_specs ?? {} };
  }
  const id = String(f.flavorid);
  let view = vc.shared.flavorLinks.get(id);
  if (!view) vc.shared.flavorLinks.set(id, (view = { id, links: bookmark(vc.baseUrl, 'flavors', id) }));
  return view;
}

function faultView(vc: ViewContext, instance: ServerRecord) {
  const fault = vc.faults.get(instance.uuid);
  if (!fault) return undefined;
  const out: Json = { code: fault.code, created: fault.created, message: fault.message };
  if (fault.details && (vc.isAdmin || fault.code !== 500)) out.details = fault.details;
  return out;
}

/** The zone a server is in: its host's once placed, else the zone it asked for. */
function zoneOf(vc: ViewContext, instance: ServerRecord, attrs: ServerAttrs): string {
  if (instance.host) return vc.hostZones.get(instance.host) ?? attrs.requestedAz ?? '';
  return attrs.requestedAz ?? '';
}

/** Admin-only host attributes, written straight onto the view (a listing builds a thousand of them). */
function addExtendedAttrs(server: Json, vc: ViewContext, instance: ServerRecord, attrs: ServerAttrs): void {
  server['OS-EXT-SRV-ATTR:host'] = instance.host;
  server['OS-EXT-SRV-ATTR:instance_name'] = guestName(instance.uuid);
  server['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.node;
  if (versionIn(vc.version, '2.3')) {
    server['OS-EXT-SRV-ATTR:hostname'] = attrs.hostname;
    server['OS-EXT-SRV-ATTR:kernel_id'] = '';
    server['OS-EXT-SRV-ATTR:launch_index'] = attrs.launchIndex;
    server['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
    server['OS-EXT-SRV-ATTR:reservation_id'] = attrs.reservationId;
    server['OS-EXT-SRV-ATTR:root_device_name'] = instance.host ? '/dev/vda' : null;
    server['OS-EXT-SRV-ATTR:user_data'] = attrs.userData;
  }
}

/** The full view of one server (GET /servers/{id}, each entry of /servers/detail, PUT's answer). */
export function serverView(vc: ViewContext, instance: ServerRecord, opts: ShowOptions = {}): Json {
  const attrs = serverAttrs(instance);
  const status = serverStatus(instance);
  const server: Json = {
    id: instance.uuid,
    name: instance.display_name,
    status,
    tenant_id: instance.project_id ?? '',
    user_id: instance.user_id ?? '',
    metadata: instance.metadata ?? {},
    hostId: hostId(instance.host, instance.project_id),
    image: imageView(vc, instance),
    flavor: flavorView(vc, instance),
    created: instance.created,
    updated: instance.updated,
    addresses: {},
    accessIPv4: attrs.accessIpV4 ?? '',
    accessIPv6: attrs.accessIpV6 ?? '',
    links: resourceLinks(vc.baseUrl, 'servers', instance.uuid),
    'OS-DCF:diskConfig': attrs.autoDiskConfig ? 'AUTO' : 'MANUAL',
  };
  if (FAULT_STATUSES.has(status)) {
    const fault = faultView(vc, instance);
    if (fault) server.fault = fault;
  }
  if (PROGRESS_STATUSES.has(status)) server.progress = instance.progress ?? 0;
  if (!opts.core) {
    server['OS-EXT-AZ:availability_zone'] = zoneOf(vc, instance, attrs);
    server.config_drive = attrs.configDrive;
    server.key_name = attrs.keyName;
    server['OS-SRV-USG:launched_at'] = instance.launched_at;
    server['OS-SRV-USG:terminated_at'] = instance.terminated_at;
    server.security_groups = attrs.securityGroups.map((name) => ({ name }));
    if (vc.isAdmin) addExtendedAttrs(server, vc, instance, attrs);
    server['OS-EXT-STS:task_state'] = instance.task_state;
    server['OS-EXT-STS:vm_state'] = instance.vm_state;
    server['OS-EXT-STS:power_state'] = instance.power_state;
    server['os-extended-volumes:volumes_attached'] = [];
  }
  addVersionedFields(server, vc.version, instance, attrs);
  if (!opts.core && vc.isAdmin && versionIn(vc.version, '2.16')) server.host_status = hostStatusOf(vc.hostStates, instance.host);
  if (opts.serverGroups && versionIn(vc.version, '2.71')) server.server_groups = [];
  return server;
}

/** An entry of GET /servers. */
export function serverSummary(baseUrl: string, instance: Pick<ServerRecord, 'uuid' | 'display_name'>): Json {
  return { id: instance.uuid, name: instance.display_name, links: resourceLinks(baseUrl, 'servers', instance.uuid) };
}

/** The 202 answer to POST /servers. */
export function createdServerView(baseUrl: string, instance: Instance, adminPass: string, securityGroups: string[]): Json {
  return {
    id: instance.uuid,
    links: resourceLinks(baseUrl, 'servers', instance.uuid),
    'OS-DCF:diskConfig': serverAttrs(instance).autoDiskConfig ? 'AUTO' : 'MANUAL',
    security_groups: securityGroups.map((name) => ({ name })),
    adminPass,
  };
}
