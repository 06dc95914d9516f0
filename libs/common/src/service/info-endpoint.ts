// An RPC endpoint every service exposes: who and what it is, to check reachability over the bus.
import { defineContract, NoArgsSchema, type RequestContext } from '../rpc';

export interface ServiceInfo {
  binary: string;
  host: string;
  version: string;
  pid: number;
  uptime_s: number;
}

export class ServiceInfoEndpoint {
  readonly target = { version: '1.0' };
  private readonly startedAt = Date.now();

  constructor(private readonly identity: { binary: string; host: string; version: string }) {}

  async ping(_ctx: RequestContext, _args: Record<string, never>): Promise<ServiceInfo> {
    return { ...this.identity, pid: process.pid, uptime_s: Math.round((Date.now() - this.startedAt) / 1000) };
  }
}

/** What the bus may ask of ServiceInfoEndpoint. */
export const SERVICE_INFO_CONTRACT = defineContract<ServiceInfoEndpoint>()({
  ping: NoArgsSchema,
});
