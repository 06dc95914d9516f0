// What the API's route plugins are given.
import type { FastifyPluginAsync } from 'fastify';
import type { FerryConfig } from '@ferry/common/config';
import type { FerryDatabase } from '@ferry/common/db';
import type { Logger } from '@ferry/common/log';
import type { Transport } from '@ferry/common/rpc';

export interface ApiDeps {
  config: Readonly<FerryConfig>;
  db: FerryDatabase;
  transport: Transport;
  log: Logger;
  /** Base URL clients reach the API at, e.g. http://127.0.0.1:8774 (links, service catalog). */
  publicUrl: () => string;
}

/** Every route plugin of the API takes the shared dependencies. */
export type RoutesPlugin = FastifyPluginAsync<{ deps: ApiDeps }>;
