// PUT /servers/{id}: rename, describe, set access IPs and disk config. Touches no state, so no task is needed.
import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from '../../api-deps';
import { versionIn } from '../../http/microversion';
import { ATTR_KEYS } from './attrs';
import { findVisibleInstance, reloadInstance } from './lookup';
import { serverRecordOf } from './server-record';
import { updateSchemaFor, type UpdateServerBody } from './schemas';
import { validateBody } from './validate';
import { loadViewContext } from './view-context';
import { serverView } from './views';

/** system_metadata entries for the fields given; null removes the entry (a cleared description). */
function attrChanges(server: UpdateServerBody['server']): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  if ('description' in server) {
    if (server.description === null || server.description === undefined) remove.push(ATTR_KEYS.description);
    else set[ATTR_KEYS.description] = server.description;
  }
  if (server.accessIPv4 !== undefined) set[ATTR_KEYS.accessIpV4] = server.accessIPv4;
  if (server.accessIPv6 !== undefined) set[ATTR_KEYS.accessIpV6] = server.accessIPv6;
  if (server['OS-DCF:diskConfig'] !== undefined) set[ATTR_KEYS.autoDiskConfig] = String(server['OS-DCF:diskConfig'] === 'AUTO');
  return { set, remove };
}

export async function updateServer(deps: ApiDeps, req: FastifyRequest<{ Params: { server_id: string } }>) {
  const body = validateBody<UpdateServerBody>(req, updateSchemaFor(req.apiVersion), req.body);
  const ds = deps.db.dataSource;
  const instance = await findVisibleInstance(ds, req.ctx, req.params.server_id);
  const { set, remove } = attrChanges(body.server);
  // Merged into system_metadata in one statement, so concurrent writers of other keys lose nothing.
  await ds.query(
    `UPDATE instances
        SET display_name = coalesce($2, display_name),
            system_metadata = (system_metadata || $3::jsonb) - $4::text[],
            updated_at = now()
      WHERE uuid = $1 AND deleted_at IS NULL`,
    [instance.uuid, body.server.name ?? null, JSON.stringify(set), remove],
  );
  const updated = serverRecordOf(await reloadInstance(ds, instance.uuid));
  const vc = await loadViewContext(deps, req, [updated]);
  return { server: serverView(vc, updated, { core: !versionIn(req.apiVersion, '2.75'), serverGroups: true }) };
}
