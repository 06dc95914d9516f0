// Who may do what: admin-only operations, and the rule that a project sees only its own servers.
import { Forbidden, InstanceNotFound } from '@ferry/common/domain';
import type { ApiContext } from './api-context';

/** Throws 403 unless the caller is an admin; rule names follow Nova's policy names. */
export function requireAdmin(ctx: Pick<ApiContext, 'is_admin'>, rule: string): void {
  if (!ctx.is_admin) throw new Forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

/** A server in another project is, to a non-admin, a server that does not exist (404, never 403). */
export function assertCanSeeInstance(ctx: ApiContext, instance: { uuid: string; project_id: string }): void {
  if (!ctx.is_admin && instance.project_id !== ctx.project_id) throw InstanceNotFound.forId(instance.uuid);
}
