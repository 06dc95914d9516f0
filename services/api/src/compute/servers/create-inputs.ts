// Checks a create request against the catalog and policy before anything is written: flavor, image, disks,
// networks, zone and host, counts. Every refusal here is a 400 or 403 that leaves the database untouched.
import type { DataSource } from 'typeorm';
import { ComputeNode, Flavor, Image, type InstanceFlavor } from '@ferry/common/db';
import { BadRequest, Forbidden, InvalidInput } from '@ferry/common/domain';
import type { ApiContext } from '../../http/api-context';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { refuseBadPolicyEntries } from '../common/migration-policy-entries';
import { checkMetadataQuota } from '../limits/quotas';
import { isUuid } from '@ferry/common/domain';
import type { BdmV2, CreateServerRequest } from './schemas';

const GiB = 1024 ** 3;
const TRUE_STRINGS = new Set(['true', '1', 'on', 'yes']);

export function looseBool(v: boolean | string | undefined): boolean {
  return typeof v === 'boolean' ? v : TRUE_STRINGS.has(String(v ?? '').toLowerCase());
}

/** The last path segment of an id or a link (Nova's get_id_from_href). */
export function idFromHref(ref: string | number): string {
  const s = String(ref);
  const path = s.includes('://') ? new URL(s).pathname : s.split('?')[0]!;
  return path.replace(/\/+$/, '').split('/').pop() ?? '';
}

export async function resolveFlavor(ds: DataSource, ctx: ApiContext, flavorRef: string | number): Promise<Flavor> {
  const flavorId = idFromHref(flavorRef);
  const flavor = await ds.getRepository(Flavor).findOne({ where: { flavorid: flavorId } });
  if (!flavor || flavor.disabled || (!flavor.is_public && !ctx.is_admin)) throw new BadRequest(`Flavor ${flavorId} could not be found.`);
  return flavor;
}

export function flavorCopy(f: Flavor): InstanceFlavor {
  return {
    id: f.id, flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb,
    ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: { ...(f.extra_specs ?? {}) },
  };
}

/** Ferry has no volume service: only local disks (the image, blank ephemeral/swap) can be mapped. */
function bootImageFromBdms(server: CreateServerRequest): string | undefined {
  const legacy = server.block_device_mapping ?? [];
  const v2 = server.block_device_mapping_v2 ?? [];
  if (legacy.length > 0 && v2.length > 0) throw new BadRequest('Using different block_device_mapping syntaxes is not allowed in the same request.');
  if (legacy.length > 0) throw new BadRequest('Block Device Mapping is Invalid: volumes cannot be attached (Ferry has no volume service).');
  let image: string | undefined;
  for (const bdm of v2) {
    const source = bdm.source_type ?? (bdm.image_id ? 'image' : bdm.volume_id ? 'volume' : bdm.snapshot_id ? 'snapshot' : undefined);
    const destination = bdm.destination_type ?? (source === 'volume' || source === 'snapshot' ? 'volume' : 'local');
    if (destination === 'volume' || source === 'volume' || source === 'snapshot') {
      throw new BadRequest('Block Device Mapping is Invalid: volumes cannot be attached (Ferry has no volume service).');
    }
    if (source === 'image' && isBootDevice(bdm)) image = bdm.uuid ?? bdm.image_id;
  }
  return image;
}

function isBootDevice(bdm: BdmV2): boolean {
  return bdm.boot_index !== undefined && bdm.boot_index !== null && Number(bdm.boot_index) === 0;
}

export async function resolveImage(ds: DataSource, ctx: ApiContext, server: CreateServerRequest, flavor: Flavor): Promise<Image> {
  const fromBdm = bootImageFromBdms(server);
  const ref = server.imageRef || fromBdm;
  if (!ref) throw new BadRequest('Missing imageRef attribute');
  const image = isUuid(ref) ? await ds.getRepository(Image).findOne({ where: { id: ref.toLowerCase() } }) : null;
  const visible = image && (ctx.is_admin || image.visibility !== 'private' || image.owner === ctx.project_id);
  if (!image || !visible) throw new BadRequest('Can not find requested image');
  if (image.status !== 'active') throw new BadRequest(`Image ${image.id} is not active.`);
  if (image.min_ram > flavor.memory_mb) throw new BadRequest("Flavor's memory is too small for requested image.");
  if (flavor.root_gb > 0) {
    const flavorBytes = flavor.root_gb * GiB;
    for (const size of [image.size, image.virtual_size]) {
      if (size != null && size > flavorBytes) {
        throw new BadRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavorBytes} bytes, image is ${size} bytes.`);
      }
    }
    if (image.min_disk > flavor.root_gb) {
      throw new BadRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavorBytes} bytes, minimum requested disk is ${image.min_disk * GiB} bytes.`);
    }
  }
  return image;
}

/** Ferry has no network service: "auto", "none" and an empty list are accepted; named networks and ports do not exist. */
export function checkNetworks(networks: CreateServerRequest['networks'] | 'auto' | 'none', version: ApiVersion): void {
  if (networks === undefined || typeof networks === 'string') return;
  const ports = new Set<string>();
  for (const net of networks) {
    if (net.port) {
      if (ports.has(net.port)) throw new BadRequest(`Port ID '${net.port}' was specified twice: you cannot attach a port multiple times.`);
      if (net.fixed_ip !== undefined) {
        throw new BadRequest(`Specified Fixed IP '${net.fixed_ip}' cannot be used with port '${net.port}': the two cannot be specified together.`);
      }
      ports.add(net.port);
      throw new BadRequest(`Port ${net.port} could not be found.`);
    }
    if (net.uuid === undefined) throw new BadRequest("Bad network format: missing 'uuid'");
    if (!versionIn(version, '2.37') && !isUuid(net.uuid)) throw new BadRequest(`Bad networks format: network uuid is not in proper format (${net.uuid})`);
    throw new BadRequest(`Network ${net.uuid} could not be found.`);
  }
}

export interface Placement {
  /** The zone asked for, if any (checked against the deployment's zone). */
  zone: string | null;
  /** Hosts the scheduler must place on (admin only). */
  forceHosts: string[];
}

function parseZone(raw: string | undefined): { zone: string | null; host: string | null; node: string | null } {
  if (!raw || !raw.includes(':')) return { zone: raw || null, host: null, node: null };
  const parts = raw.split(':');
  if (parts.length === 2) return { zone: parts[0] || null, host: parts[1] || null, node: null };
  if (parts.length === 3) return { zone: parts[0] || null, host: parts[1] || null, node: parts[2] || null };
  throw new InvalidInput('Invalid input received: Unable to parse availability_zone');
}

/** The host a host and/or node name designates, or 400 when no compute node matches. */
async function hostFor(ds: DataSource, host: string | null, node: string | null): Promise<string> {
  const where = { ...(host ? { host } : {}), ...(node ? { hypervisor_hostname: node } : {}) };
  const found = await ds.getRepository(ComputeNode).findOne({ where });
  if (!found) throw new BadRequest(`Compute host ${host ?? node} could not be found.`);
  return found.host;
}

/** Zones that hold at least one compute host. */
async function availableZones(ds: DataSource): Promise<Set<string>> {
  const rows: { availability_zone: string }[] = await ds.query('SELECT DISTINCT availability_zone FROM compute_nodes');
  return new Set(rows.map((r) => r.availability_zone));
}

export async function resolvePlacement(ds: DataSource, ctx: ApiContext, server: CreateServerRequest): Promise<Placement> {
  const { zone, host, node } = parseZone(server.availability_zone);
  const forceHosts: string[] = [];
  if (host || node) {
    requireAdmin(ctx, 'os_compute_api:servers:create:forced_host');
    forceHosts.push(await hostFor(ds, host, node));
  }
  if (server.host || server.hypervisor_hostname) {
    requireAdmin(ctx, 'compute:servers:create:requested_destination');
    if (host || node) {
      throw new BadRequest('One mechanism with host and/or hypervisor_hostname and another mechanism with zone:host:node are mutually exclusive.');
    }
    forceHosts.push(await hostFor(ds, server.host ?? null, server.hypervisor_hostname ?? null));
  }
  if (zone && forceHosts.length === 0 && !(await availableZones(ds)).has(zone)) throw new BadRequest('The requested availability zone is not available');
  return { zone, forceHosts };
}

export function instanceCounts(server: CreateServerRequest): { min: number; max: number } {
  const min = Number(server.min_count ?? 1);
  const max = Number(server.max_count ?? min);
  for (const [field, n] of [['min_count', min], ['max_count', max]] as const) {
    if (!Number.isSafeInteger(n) || n < 1) throw new BadRequest(`Invalid input for field/attribute ${field}. Value: ${n}. ${n} is less than the minimum of 1`);
  }
  if (min > max) throw new BadRequest('min_count must be <= max_count');
  return { min, max };
}

/** Security group names, deduplicated; only "default" exists in Ferry (there is no network service to hold others). */
export function securityGroupNames(server: CreateServerRequest): string[] {
  const names = [...new Set((server.security_groups ?? []).map((g) => g.name).filter((n): n is string => !!n))];
  for (const name of names) if (name !== 'default') throw new BadRequest(`Security group ${name} not found.`);
  return names.length > 0 ? names : ['default'];
}

/** Everything else a create request names that Ferry checks before writing. */
export function checkMiscellany(server: CreateServerRequest): void {
  if (server.key_name !== undefined) throw new BadRequest('Invalid key_name provided.');
  checkMetadataQuota(server.metadata);
  refuseBadPolicyEntries('metadata', server.metadata);
  if (server.user_data !== undefined && server.user_data.replace(/\s/g, '').length % 4 !== 0) {
    throw new BadRequest(`Invalid input for field/attribute user_data. Value: ${server.user_data}. '${server.user_data}' is not a 'base64'`);
  }
  if ((server.personality?.length ?? 0) > 5) throw new Forbidden('Personality file limit exceeded');
}
