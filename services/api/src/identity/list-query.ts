// The query of Keystone's project and user lists: ?name=, ?domain_id=, ?enabled=.
import { Type, type Static } from '@sinclair/typebox';
import type { ListFilter } from './identity-store';

export const ListQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255 })),
  domain_id: Type.Optional(Type.String({ maxLength: 64 })),
  enabled: Type.Optional(Type.String({ maxLength: 8 })),
});
export type ListQuery = Static<typeof ListQuery>;

/** Keystone's truthy query values; anything else is false. */
function queryBool(value: string): boolean {
  return ['true', '1', 'yes', 'on', ''].includes(value.toLowerCase());
}

export function listFilter(q: ListQuery): ListFilter {
  const filter: ListFilter = {};
  if (q.name !== undefined) filter.name = q.name;
  if (q.domain_id !== undefined) filter.domain_id = q.domain_id;
  if (q.enabled !== undefined) filter.enabled = queryBool(q.enabled);
  return filter;
}
