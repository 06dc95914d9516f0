// PUT /os-services: the action forms before 2.53 (enable, disable, disable-log-reason, force-down by host
// and binary) and, from 2.53, a partial update of one service named by uuid.
import type { DataSource } from 'typeorm';
import { BadRequest, NotFound } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { isUuidLike, parseLooseBool, parseStrictBool } from '../common/request-params';
import type { ServiceUpdate } from './schemas';
import { ferryBinary, novaBinary } from './nova-binaries';
import { COMPUTE_BINARY, findService, loadServices, type ServiceRow } from './service-rows';
import { serviceView } from './views';

interface ServicePatch {
  disabled?: boolean;
  disabled_reason?: string | null;
  forced_down?: boolean;
}

/** Body keys each microversion's schema declares; anything else is a 400 as in Nova's closed schemas. */
export function checkUpdateBodyKeys(body: ServiceUpdate, v: ApiVersion): void {
  const allowed = versionIn(v, '2.53') ? ['status', 'disabled_reason', 'forced_down']
    : versionIn(v, '2.11') ? ['host', 'binary', 'disabled_reason', 'forced_down']
      : ['host', 'binary', 'disabled_reason'];
  const extra = Object.keys(body).filter((k) => !allowed.includes(k)).sort();
  if (extra.length) throw new BadRequest(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  if (!versionIn(v, '2.53')) {
    for (const key of ['host', 'binary'] as const) if (body[key] === undefined) throw new BadRequest(`'${key}' is a required property`);
  }
}

const ACTIONS_BEFORE_2_11 = ['enable', 'disable', 'disable-log-reason'];

/**
 * The pre-2.53 action `PUT /os-services/{action}` with {host, binary, …}, the binary by Nova's name (or Ferry's);
 * answers Nova's short service body, echoing the binary as sent.
 */
export async function updateByAction(ds: DataSource, v: ApiVersion, action: string, body: ServiceUpdate) {
  const actions = versionIn(v, '2.11') ? [...ACTIONS_BEFORE_2_11, 'force-down'] : ACTIONS_BEFORE_2_11;
  if (!actions.includes(action)) throw new NotFound('Unknown action');
  const host = body.host!;
  const binary = body.binary!;
  if (action === 'force-down') {
    if (body.forced_down === undefined) throw new BadRequest('Missing forced_down field');
    const forced = parseLooseBool(body.forced_down);
    if (ferryBinary(binary) === COMPUTE_BINARY && !forced) await assertNoUnfinishedEvacuations(ds, host);
    await updateByHostAndBinary(ds, host, binary, { forced_down: forced });
    return { service: { host, binary, forced_down: forced } };
  }
  if (action === 'enable') {
    await updateByHostAndBinary(ds, host, binary, { disabled: false, disabled_reason: null });
    return { service: { host, binary, status: 'enabled' } };
  }
  let reason: string | null = null;
  if (action === 'disable-log-reason') {
    if (body.disabled_reason === undefined) throw new BadRequest('Missing disabled reason field');
    reason = body.disabled_reason;
  }
  await updateByHostAndBinary(ds, host, binary, { disabled: true, disabled_reason: reason });
  return { service: { host, binary, status: 'disabled', ...(reason ? { disabled_reason: reason } : {}) } };
}

/** The 2.53 form `PUT /os-services/{uuid}` with {status?, disabled_reason?, forced_down?}; answers the full service. */
export async function updateByUuid(ds: DataSource, downSeconds: number, v: ApiVersion, id: string, body: ServiceUpdate) {
  const svc = await findService(ds, downSeconds, id);
  if (!svc) throw new NotFound(`Service ${id} could not be found.`);
  assertUpdatable(svc.binary);
  const patch: ServicePatch = {};
  if (body.status === 'enabled') {
    if (body.disabled_reason) throw new BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    Object.assign(patch, { disabled: false, disabled_reason: null });
  } else if (body.status === 'disabled') {
    Object.assign(patch, { disabled: true, disabled_reason: body.disabled_reason ?? null });
  }
  if (body.forced_down !== undefined) {
    patch.forced_down = parseStrictBool(body.forced_down)!;
    if (!patch.forced_down) await assertNoUnfinishedEvacuations(ds, svc.host);
  }
  if (Object.keys(patch).length === 0) throw new BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
  await writePatch(ds, svc.id, patch);
  const [updated] = await loadServices(ds, downSeconds, 'WHERE s.id = $1', [svc.id]);
  return { service: serviceView(updated as ServiceRow, v) };
}

/** The uuid a 2.53 path names, or Nova's 400 for anything that is not one. */
export function requireUuid(id: string): string {
  if (!isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
  return id;
}

function assertUpdatable(binary: string): void {
  if (ferryBinary(binary) !== COMPUTE_BINARY) {
    throw new BadRequest(`Updating a ${novaBinary(binary)} service is not supported. Only ${novaBinary(COMPUTE_BINARY)} services can be updated.`);
  }
}

async function updateByHostAndBinary(ds: DataSource, host: string, binary: string, patch: ServicePatch): Promise<void> {
  assertUpdatable(binary);
  const rows: { id: number }[] = await ds.query(`SELECT id FROM services WHERE host = $1 AND "binary" = $2`, [host, ferryBinary(binary)]);
  if (!rows[0]) throw new NotFound(`Could not find binary ${binary} on host ${host}.`);
  await writePatch(ds, rows[0].id, patch);
}

async function writePatch(ds: DataSource, id: number, patch: ServicePatch): Promise<void> {
  const entries = Object.entries(patch);
  const sets = entries.map(([col], i) => `${col} = $${i + 2}`);
  await ds.query(`UPDATE services SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1`, [id, ...entries.map(([, val]) => val)]);
}

/**
 * A compute host must not be forced back up while an evacuation from it is still `done` (its compute has
 * not yet restarted and cleaned up the evacuated instances): Nova refuses with a 400, and so does Ferry.
 */
async function assertNoUnfinishedEvacuations(ds: DataSource, host: string): Promise<void> {
  const rows: unknown[] = await ds.query(
    `SELECT 1 FROM migrations WHERE source_compute = $1 AND status = 'done' AND migration_type = 'evacuation' AND deleted_at IS NULL LIMIT 1`,
    [host],
  );
  if (rows.length) {
    throw new BadRequest(`Unable to force up host ${host} as \`done\` evacuation migration records remain associated with the host. `
      + 'Ensure the compute service has been restarted, allowing these records to move to `completed` before retrying this request.');
  }
}
