// The password method of `POST /v3/auth/tokens`: who the caller is, and which project the token is for.
import type { DataSource } from 'typeorm';
import { BadRequest, NotAuthenticated } from '@ferry/common/domain';
import { DEFAULT_DOMAIN, hashPassword, verifyPassword, type Project, type User } from '@ferry/common/db';
import { assignedRoles, findProjectById, findProjectByName, findUserById, findUserByName } from './identity-store';
import { AUTHENTICATION_REQUIRED } from './keystone-errors';
import type { LoginGuard } from './login-guard';
import type { AuthRequest, DomainRef, PasswordUser, ProjectRef } from './schemas';

/** Who is trying to log in, and the guard that counts their failures. */
export interface LoginAttempt {
  guard: LoginGuard;
  address: string;
}

export interface Authenticated {
  user: User;
  /** Null for an unscoped token. */
  project: Project | null;
  /** Role names assigned on the project (empty when unscoped). */
  roles: string[];
}

/**
 * Why authentication failed, for the log only: the client always hears the same 401, so it cannot
 * tell an unknown user from a wrong password or a project it may not use.
 */
export class AuthenticationFailed extends NotAuthenticated {
  constructor(readonly reason: string, message = AUTHENTICATION_REQUIRED) {
    super(message, { reason });
  }
}

export async function authenticate(ds: DataSource, body: AuthRequest, attempt: LoginAttempt): Promise<Authenticated> {
  const { identity, scope } = body.auth;
  const unsupported = identity.methods.filter((m) => m !== 'password');
  if (unsupported.length > 0 || !identity.methods.includes('password')) {
    throw new AuthenticationFailed(`unsupported authentication method ${unsupported.join(', ') || '(none)'}`);
  }
  if (!identity.password) throw new BadRequest("Invalid input for field 'auth/identity': 'password' is a required property");
  const user = await checkPassword(ds, identity.password.user, attempt);

  if (scope === 'unscoped') return { user, project: null, roles: [] };
  if (scope?.system || scope?.['OS-TRUST:trust']) throw new AuthenticationFailed('system and trust scopes are not supported');
  if (scope?.domain && scope.project) throw new BadRequest('Specify a domain or project, not both.');
  if (scope?.domain) throw new AuthenticationFailed(`user ${user.id} has no role on any domain`);
  if (scope?.project) return scopeToProject(ds, user, await findProject(ds, scope.project));
  return defaultScope(ds, user);
}

async function checkPassword(ds: DataSource, ref: PasswordUser, { guard, address }: LoginAttempt): Promise<User> {
  guard.admitAddress(address);
  const user = await findUser(ds, ref);
  if (user) guard.assertUnlocked(user);
  // Hash even when there is no such user, so the answer takes as long either way.
  const matches = await verifyPassword(ref.password, user?.password_hash ?? (await dummyHash()));
  if (!user || !matches) {
    await guard.failed(address, user);
    throw new AuthenticationFailed(user ? `wrong password for user ${user.id}` : `no user ${ref.id ?? ref.name}`);
  }
  if (!user.enabled) throw new AuthenticationFailed(`user ${user.id} is disabled`);
  await guard.succeeded(user);
  return user;
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('no user has this password');
  return dummy;
}

async function findUser(ds: DataSource, ref: PasswordUser): Promise<User | null> {
  if (ref.id) return findUserById(ds, ref.id);
  if (!ref.name) throw new BadRequest('Expecting to find id or name in user.');
  if (!ref.domain) throw new BadRequest('Expecting to find domain in user.');
  const domainId = domainIdOf(ref.domain);
  return domainId ? findUserByName(ds, domainId, ref.name) : null;
}

async function findProject(ds: DataSource, ref: ProjectRef): Promise<Project | null> {
  if (ref.id) return findProjectById(ds, ref.id);
  if (!ref.name) throw new BadRequest('Expecting to find id or name in project.');
  if (!ref.domain) throw new BadRequest('Expecting to find domain in project.');
  const domainId = domainIdOf(ref.domain);
  return domainId ? findProjectByName(ds, domainId, ref.name) : null;
}

/** The id of the domain a reference names, or undefined when no such domain exists. Ferry has only Default. */
function domainIdOf(ref: DomainRef): string | undefined {
  if (ref.id !== undefined) return ref.id === DEFAULT_DOMAIN.id ? DEFAULT_DOMAIN.id : undefined;
  if (ref.name === undefined) throw new BadRequest('Expecting to find id or name in domain.');
  return ref.name.toLowerCase() === DEFAULT_DOMAIN.name.toLowerCase() ? DEFAULT_DOMAIN.id : undefined;
}

async function scopeToProject(ds: DataSource, user: User, project: Project | null): Promise<Authenticated> {
  if (!project) throw new AuthenticationFailed('no such project');
  if (!project.enabled) throw new AuthenticationFailed(`project ${project.id} is disabled`);
  const roles = await assignedRoles(ds, user.id, project.id);
  if (roles.length === 0) throw new AuthenticationFailed(`user ${user.id} has no role on project ${project.id}`);
  return { user, project, roles };
}

/** No scope asked for: the user's default project when it is usable, else an unscoped token (as Keystone does). */
async function defaultScope(ds: DataSource, user: User): Promise<Authenticated> {
  if (!user.default_project_id) return { user, project: null, roles: [] };
  const project = await findProjectById(ds, user.default_project_id);
  const roles = project?.enabled ? await assignedRoles(ds, user.id, project.id) : [];
  return project && roles.length > 0 ? { user, project, roles } : { user, project: null, roles: [] };
}
