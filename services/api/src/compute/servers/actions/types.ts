// What a server action is: the body key it answers to, the schema of its body, and what it does.
import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Instance } from '@ferry/common/db';
import type { ApiDeps } from '../../../api-deps';
import type { ServerRpc } from '../rpc';

export interface ActionEnv {
  deps: ApiDeps;
  rpc: ServerRpc;
  req: FastifyRequest;
}

export interface ActionResult {
  status: number;
  body?: unknown;
}

export interface ServerAction {
  /** The body's single key, e.g. "os-stop". */
  readonly name: string;
  /** First microversion that offers it (default 2.1). */
  readonly since?: string;
  /** Schema of the whole body, e.g. {"os-stop": null}. */
  readonly schema: TSchema;
  /** Runs on the instance the caller may see (another project's is already a 404). */
  run(env: ActionEnv, instance: Instance, body: Record<string, unknown>): Promise<ActionResult>;
  /**
   * Runs for a caller who may see every server (admin) on the server the path names (a lowercase uuid), without
   * loading it first: the action's own statement finds the instance or the action answers 404. Saves a round trip
   * for actions that need nothing of the instance but its id.
   */
  runOnId?(env: ActionEnv, uuid: string, body: Record<string, unknown>): Promise<ActionResult>;
}
