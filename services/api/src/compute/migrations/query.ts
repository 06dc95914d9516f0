// The os-migrations query as each microversion reads it: open filters before 2.59; from 2.59 a closed
// schema with limit/marker and changes-since, changes-before from 2.66, user_id/project_id from 2.80.
import { BadRequest } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { pageRequest, type PageRequest } from '../common/paging';
import { timeParam, type Instant } from '../common/nova-time';
import { lastValue, parseLooseBool, rejectRepeated, rejectUnknownParams, type Query } from '../common/request-params';

const FILTERS = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type'] as const;

export interface MigrationQuery {
  hidden?: boolean;
  host?: string;
  instance_uuid?: string;
  source_compute?: string;
  status?: string;
  migration_type?: string;
  user_id?: string;
  project_id?: string;
  changesSince?: Instant;
  changesBefore?: Instant;
  /** Paging, newest first (2.59+); without it every match is returned in id order. */
  page?: PageRequest;
}

/** The parameters each microversion declares; from 2.59 anything else is a 400. */
export function allowedParams(v: ApiVersion): string[] {
  const params: string[] = [...FILTERS, 'limit', 'marker', 'changes-since'];
  if (versionIn(v, '2.66')) params.push('changes-before');
  if (versionIn(v, '2.80')) params.push('user_id', 'project_id');
  return params;
}

export function readMigrationQuery(query: Query, v: ApiVersion): MigrationQuery {
  const q: MigrationQuery = {};
  for (const name of FILTERS) {
    const value = lastValue(query, name);
    if (value === undefined || value === '') continue;
    if (name === 'hidden') q.hidden = parseLooseBool(value);
    else q[name] = value;
  }
  if (!versionIn(v, '2.59')) return q;

  const allowed = allowedParams(v);
  rejectUnknownParams(query, allowed);
  rejectRepeated(query, allowed.filter((p) => !(FILTERS as readonly string[]).includes(p)));
  q.page = pageRequest(query);
  const since = lastValue(query, 'changes-since');
  if (since !== undefined) q.changesSince = timeParam('changes-since', since);
  const before = versionIn(v, '2.66') ? lastValue(query, 'changes-before') : undefined;
  if (before !== undefined) {
    q.changesBefore = timeParam('changes-before', before);
    if (q.changesSince && q.changesBefore.micros < q.changesSince.micros) {
      throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
    }
  }
  if (versionIn(v, '2.80')) {
    for (const name of ['user_id', 'project_id'] as const) {
      const value = lastValue(query, name);
      if (value !== undefined) q[name] = value;
    }
  }
  return q;
}
