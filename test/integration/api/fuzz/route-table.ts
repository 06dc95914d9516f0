// Every route of the assembled app, as fastify registers it (onRoute), with the body schemas its handler validates against.
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createSchemaFor, updateSchemaFor } from '../../../../services/api/src/compute/servers/schemas';
import { SERVER_ACTIONS } from '../../../../services/api/src/compute/servers/actions';
import { StartBody as HostEvacuateBody } from '../../../../services/api/src/compute/ferry-host-evacuations';
import { DrainBody as HostDrainBody } from '../../../../services/api/src/compute/ferry-host-drains';
import { parseVersion } from '../../../../services/api/src/http/microversion';

export interface RouteInfo {
  method: string;
  /** fastify's pattern, e.g. /compute/v2.1/servers/:server_id/action */
  url: string;
  params: string[];
  /** Schemas a good body would satisfy: the route's own, or those its handler checks (server create, update, actions). */
  bodies: TSchema[];
  querystring?: TSchema;
}

// Routes that validate in the handler (the schema depends on the microversion or the action key) leave fastify no schema.
const VERSIONS = ['2.1', '2.19', '2.37', '2.57', '2.74', '2.80'].map(parseVersion);
const ServerMigrationAction = { type: 'object', properties: { force_complete: { type: 'null' } }, required: ['force_complete'], additionalProperties: false };
const HANDLER_BODIES: Readonly<Record<string, () => TSchema[]>> = {
  'POST /compute/v2.1/servers': () => VERSIONS.map(createSchemaFor),
  'PUT /compute/v2.1/servers/:server_id': () => VERSIONS.map(updateSchemaFor),
  'POST /compute/v2.1/servers/:server_id/action': () => [...SERVER_ACTIONS.values()].map((a) => a.schema),
  'POST /compute/v2.1/servers/:server_id/migrations/:migration_id/action': () => [ServerMigrationAction as unknown as TSchema],
  'POST /compute/v2.1/os-ferry-hosts/:host/evacuate': () => [HostEvacuateBody],
  'POST /compute/v2.1/os-ferry-hosts/:host/drain': () => [HostDrainBody],
};

// buildApp registers these before a hook added to the app it returns can see them.
const EARLY_ROUTES = ['/', '/compute', '/compute/', '/compute/v2.1/', '/compute/v2.1'];

/** Attach before `ready()`: records each route the plugins register. */
export function collectRoutes(app: FastifyInstance): RouteInfo[] {
  const routes: RouteInfo[] = EARLY_ROUTES.flatMap((url) => ['GET', 'HEAD'].map((method) => ({ method, url, params: [], bodies: [] })));
  app.addHook('onRoute', (opts) => {
    for (const method of ([] as string[]).concat(opts.method)) {
      const key = `${method} ${opts.url}`;
      const schema = (opts.schema ?? {}) as { body?: TSchema; querystring?: TSchema };
      routes.push({
        method, url: opts.url,
        params: [...opts.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!),
        bodies: schema.body ? [schema.body] : HANDLER_BODIES[key]?.() ?? [],
        ...(schema.querystring ? { querystring: schema.querystring } : {}),
      });
    }
  });
  return routes;
}

export const routeKey = (r: Pick<RouteInfo, 'method' | 'url'>) => `${r.method} ${r.url}`;
