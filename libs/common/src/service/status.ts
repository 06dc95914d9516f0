// Whether a service is up, decided in one place: a recent heartbeat and not forced down (Nova's servicegroup rule).

export interface ServiceRecord {
  host: string;
  binary: string;
  topic: string;
  disabled: boolean;
  disabled_reason?: string | null;
  forced_down: boolean;
  last_seen_up: Date | null;
}

export interface ServiceState extends ServiceRecord {
  state: 'up' | 'down';
  /** Seconds since the last heartbeat, or null if it never beat. */
  heartbeat_age_s: number | null;
}

export function serviceState(svc: ServiceRecord, now: Date, downSeconds: number): ServiceState {
  const age = svc.last_seen_up ? Math.max(0, (now.getTime() - svc.last_seen_up.getTime()) / 1000) : null;
  const up = !svc.forced_down && age !== null && age <= downSeconds;
  return { ...svc, state: up ? 'up' : 'down', heartbeat_age_s: age === null ? null : Math.round(age * 10) / 10 };
}

/** Whether a service takes new work: up (as above) and not disabled by an operator or a drain. */
export function takesWork(svc: ServiceState | undefined): boolean {
  return svc !== undefined && svc.state === 'up' && !svc.disabled;
}
