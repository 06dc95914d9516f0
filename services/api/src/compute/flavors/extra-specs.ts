// /flavors/{id}/os-extra_specs: read by anyone who can see the flavor, written by admins. Values are kept
// as strings; create and update answer the body they were given, as Nova does.
import { BadRequest, NotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { refuseBadPolicyEntries } from '../common/migration-policy-entries';
import { deleteExtraSpec, getFlavor, mergeExtraSpecs } from './repo';
import { ExtraSpecsCreateBody, ExtraSpecUpdateBody, type ExtraSpecsCreate, type ExtraSpecUpdate } from './schemas';

const POLICY = 'os_compute_api:os-flavor-extra-specs';
const MAX_VALUE_LENGTH = 255;

type FlavorParams = { Params: { flavorId: string } };
type SpecParams = { Params: { flavorId: string; key: string } };

function missingKey(flavorId: string, key: string): NotFound {
  return new NotFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
}

/**
 * Numbers are accepted and stored as their string form, which must fit the 255 characters a string may have; migration
 * policy keys must hold values their knob accepts.
 */
function asStrings(specs: Record<string, string | number>): Record<string, string> {
  const strings = Object.fromEntries(Object.entries(specs).map(([k, v]) => {
    const s = String(v);
    if (s.length > MAX_VALUE_LENGTH) throw new BadRequest(`Invalid input received: extra_specs value has more than ${MAX_VALUE_LENGTH} characters.`);
    return [k, s];
  }));
  refuseBadPolicyEntries('extra_specs', strings);
  return strings;
}

export const extraSpecRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.get<FlavorParams>('/flavors/:flavorId/os-extra_specs', async (req) => {
    const flavor = await getFlavor(ds, req.params.flavorId, !req.ctx.is_admin);
    return { extra_specs: flavor.extra_specs };
  });

  app.post<FlavorParams & { Body: ExtraSpecsCreate }>('/flavors/:flavorId/os-extra_specs', { schema: { body: ExtraSpecsCreateBody } }, async (req) => {
    requireAdmin(req.ctx, `${POLICY}:create`);
    const specs = asStrings(req.body.extra_specs);
    await getFlavor(ds, req.params.flavorId, false);
    await mergeExtraSpecs(ds, req.params.flavorId, specs);
    return req.body;
  });

  app.get<SpecParams>('/flavors/:flavorId/os-extra_specs/:key', async (req) => {
    const flavor = await getFlavor(ds, req.params.flavorId, !req.ctx.is_admin);
    const value = flavor.extra_specs[req.params.key];
    if (value === undefined) throw missingKey(req.params.flavorId, req.params.key);
    return { [req.params.key]: value };
  });

  app.put<SpecParams & { Body: ExtraSpecUpdate }>('/flavors/:flavorId/os-extra_specs/:key', { schema: { body: ExtraSpecUpdateBody } }, async (req) => {
    requireAdmin(req.ctx, `${POLICY}:update`);
    const specs = asStrings(req.body);
    if (!(req.params.key in specs)) throw new BadRequest('Request body and URI mismatch');
    await getFlavor(ds, req.params.flavorId, false);
    await mergeExtraSpecs(ds, req.params.flavorId, specs);
    return req.body;
  });

  app.delete<SpecParams>('/flavors/:flavorId/os-extra_specs/:key', async (req, reply) => {
    requireAdmin(req.ctx, `${POLICY}:delete`);
    await getFlavor(ds, req.params.flavorId, false);
    if (!(await deleteExtraSpec(ds, req.params.flavorId, req.params.key))) throw missingKey(req.params.flavorId, req.params.key);
    return reply.code(200).send();
  });
};
