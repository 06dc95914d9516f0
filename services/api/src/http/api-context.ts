// Who is asking and at which microversion: attached to every authenticated request.
import type { RequestContext } from '@ferry/common/rpc';
import type { ApiVersion } from './microversion';

export interface ApiContext extends RequestContext {
  user_id: string;
  project_id: string;
  user_name: string;
  project_name: string;
  /** Holds the admin role (Nova's "admin_api" rule). */
  is_admin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every authenticated route. */
    ctx: ApiContext;
    /** Set by the microversion hook on every /compute/v2.1 route. */
    apiVersion: ApiVersion;
  }
}
