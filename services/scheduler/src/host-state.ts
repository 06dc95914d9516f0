// A compute host as the scheduler sees it: its zone, its service's health, and what it can still take.
import type { HostCapacity, Resources } from '@ferry/common/db';
import { COMPUTE_BINARY, serviceState, type ServiceRecord, type ServiceState } from '@ferry/common/service';

export interface HostState {
  host: string;
  node: string;
  availability_zone: string;
  /** The host's compute service; undefined when none ever registered (the host is treated as down). */
  service: ServiceState | undefined;
  /** What the host may hold in all: floor((total - reserved) × allocation ratio), per resource. */
  capacity: Resources;
  /**
   * What allocations held on it when the hosts were read, plus what placements on these same host states have claimed
   * or are claiming since (the instances of one request, or the moves that share one read).
   */
  used: Resources;
}

/** Capacity left on the host, per resource (negative when an operator shrank an overcommitted host). */
export function freeResources(h: HostState): Resources {
  return {
    vcpus: h.capacity.vcpus - h.used.vcpus,
    memory_mb: h.capacity.memory_mb - h.used.memory_mb,
    disk_gb: h.capacity.disk_gb - h.used.disk_gb,
  };
}

/** Joins compute nodes with their compute services' state as of `now`. */
export function buildHostStates(
  nodes: readonly HostCapacity[], services: readonly ServiceRecord[], now: Date, serviceDownSeconds: number,
): HostState[] {
  const computeServices = new Map(services.filter((s) => s.binary === COMPUTE_BINARY).map((s) => [s.host, s]));
  return nodes.map((n) => {
    const svc = computeServices.get(n.host);
    return {
      host: n.host,
      node: n.node,
      availability_zone: n.availability_zone,
      service: svc ? serviceState(svc, now, serviceDownSeconds) : undefined,
      capacity: {
        vcpus: Math.floor((n.vcpus - n.reserved_vcpus) * n.cpu_allocation_ratio),
        memory_mb: Math.floor((n.memory_mb - n.reserved_memory_mb) * n.ram_allocation_ratio),
        disk_gb: Math.floor((n.local_gb - n.reserved_disk_gb) * n.disk_allocation_ratio),
      },
      used: { vcpus: n.vcpus_used, memory_mb: n.memory_mb_used, disk_gb: n.disk_gb_used },
    };
  });
}

/** Counts a claim against the host (made, or being asked), so placements on the same host states see it. */
export function consume(h: HostState, r: Resources): void {
  h.used = { vcpus: h.used.vcpus + r.vcpus, memory_mb: h.used.memory_mb + r.memory_mb, disk_gb: h.used.disk_gb + r.disk_gb };
}

/** Takes back a claim counted by consume that was not made. */
export function giveBack(h: HostState, r: Resources): void {
  consume(h, { vcpus: -r.vcpus, memory_mb: -r.memory_mb, disk_gb: -r.disk_gb });
}

/**
 * The database refused a claim of `r` on the host (another scheduler, or a move on other host states, took the room
 * since it was read). Which resource ran out is not known, so the host is counted as having less than `r` of each
 * resource `r` asks for: later placements on these host states skip it unless they ask less of every one of those
 * (with one vCPU asked, none can), and a placement refused there once is not refused again on the same read.
 */
export function noRoomFor(h: HostState, r: Resources): void {
  const atLeast = (used: number, capacity: number, asked: number) => (asked > 0 ? Math.max(used, capacity - asked + 1) : used);
  h.used = {
    vcpus: atLeast(h.used.vcpus, h.capacity.vcpus, r.vcpus),
    memory_mb: atLeast(h.used.memory_mb, h.capacity.memory_mb, r.memory_mb),
    disk_gb: atLeast(h.used.disk_gb, h.capacity.disk_gb, r.disk_gb),
  };
}
