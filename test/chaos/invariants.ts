// What must hold once a cell has converged, read from the database and from each host's fake-driver files: one
// copy of the guest, where the database says, as the user left it, with nothing half-done anywhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { sha256 } from '../support/disk-hash';
import { COMPUTES } from './services';

export const TERMINAL_MIGRATION = ['confirmed', 'reverted', 'completed', 'done', 'cancelled', 'error', 'failed'];

export interface InstanceRow {
  uuid: string;
  host: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  flavor: { vcpus: number; memory_mb: number; root_gb: number };
  deleted_at: Date | null;
}

export interface MigrationRow {
  id: number;
  status: string;
  migration_type: string;
  source_compute: string | null;
  dest_compute: string | null;
  last_error: string | null;
}

/** One host's view of the instance: its VM state file (if any) and whether a directory or disk is left without one. */
export interface HostCopy {
  host: string;
  state?: string;
  /** The hypervisor's name for the VM, when one is defined. */
  name?: string;
  dir: boolean;
  disk: boolean;
}

export function instanceDir(stateDir: string, host: string, uuid: string): string {
  return join(stateDir, 'hosts', host, 'instances', uuid);
}

export function copiesOf(stateDir: string, uuid: string): HostCopy[] {
  return COMPUTES.map((host) => {
    const dir = instanceDir(stateDir, host, uuid);
    if (!existsSync(dir)) return { host, dir: false, disk: false };
    let vm: { state?: string; name?: string } = {};
    try {
      vm = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { state: string; name: string };
    } catch {
      vm = {};
    }
    return { host, dir: true, disk: existsSync(join(dir, 'disk')), ...(vm.state ? { state: vm.state } : {}), ...(vm.name ? { name: vm.name } : {}) };
  });
}

export async function loadInstance(db: pg.Client, uuid: string): Promise<InstanceRow | undefined> {
  const r = await db.query<InstanceRow>('SELECT uuid, host, vm_state, task_state, power_state, flavor, deleted_at FROM instances WHERE uuid = $1', [uuid]);
  return r.rows[0];
}

export async function loadMigrations(db: pg.Client, uuid: string): Promise<MigrationRow[]> {
  const r = await db.query<MigrationRow>(
    'SELECT id, status, migration_type, source_compute, dest_compute, last_error FROM migrations WHERE instance_uuid = $1 ORDER BY id', [uuid]);
  return r.rows;
}

export interface Verdict {
  /** Every invariant holds. */
  ok: boolean;
  /** The record says a human must decide, and the guest still runs on exactly one host. */
  humanNeeded: boolean;
  violations: string[];
  /** One line: where the instance and its records are now. */
  where: string;
}

const RUNNING_COPY = ['running'];

/**
 * Checks every invariant of a converged cell. `diskSha` is the disk's hash at power-off (over its first `diskBytes`);
 * it is compared only once everything else holds.
 */
export async function checkInvariants(db: pg.Client, stateDir: string, uuid: string, diskSha: string | undefined, diskBytes: number): Promise<Verdict> {
  const v: string[] = [];
  const inst = await loadInstance(db, uuid);
  const migrations = await loadMigrations(db, uuid);
  const copies = copiesOf(stateDir, uuid);
  const copyText = copies.filter((c) => c.dir).map((c) => `${c.host}:${c.state ?? (c.disk ? 'partial-disk' : 'empty-dir')}`).join(',') || 'none';
  const where = inst
    ? `vm_state=${inst.vm_state} task_state=${inst.task_state ?? '-'} host=${inst.host ?? '-'} migrations=[${migrations.map((m) => `${m.migration_type}:${m.status}`).join(',')}] copies=${copyText}`
    : `no instance row; copies=${copyText}`;
  if (!inst || inst.deleted_at) return { ok: false, humanNeeded: false, violations: ['instance row missing or deleted'], where };

  if (inst.task_state !== null) v.push(`task_state ${inst.task_state}`);
  for (const m of migrations) if (!TERMINAL_MIGRATION.includes(m.status)) v.push(`migration ${m.id} (${m.migration_type}) is ${m.status}`);
  const running = copies.filter((c) => c.state && RUNNING_COPY.includes(c.state));
  if (running.length > 1) v.push(`guest running on ${running.map((c) => c.host).join(' and ')}`);

  if (inst.vm_state === 'error') {
    // Only a record that says why (a fault) counts as waiting for a human, and the guest must still run somewhere.
    const faults = await db.query<{ message: string }>('SELECT message FROM instance_faults WHERE instance_uuid = $1 ORDER BY id DESC LIMIT 1', [uuid]);
    if (!faults.rows[0]) v.push('vm_state error without a fault saying why');
    if (running.length === 0) v.push('vm_state error and the guest runs nowhere');
    return { ok: false, humanNeeded: v.length === 0, violations: v.length ? v : [`needs a human: ${faults.rows[0]!.message.slice(0, 160)}`], where };
  }

  if (inst.vm_state !== 'active') v.push(`vm_state ${inst.vm_state}, not active`);
  if (inst.power_state !== 1) v.push(`power_state ${inst.power_state}, not running`);
  for (const c of copies) {
    if (!c.dir) continue;
    if (c.host !== inst.host) v.push(`${c.state ? `${c.state} VM` : 'partial leftover'} on ${c.host}, not the instance's host`);
    else if (!c.state) v.push(`partial leftover (no VM state) on ${c.host}`);
    else if (c.state !== 'running') v.push(`copy on ${c.host} is ${c.state}, not running`);
  }
  if (!copies.some((c) => c.host === inst.host && c.state)) v.push(`no VM on ${inst.host ?? 'any host'}, the host the database names`);

  const allocs = await db.query<{ host: string; vcpus: number; memory_mb: number; disk_gb: number }>(
    'SELECT host, vcpus, memory_mb, disk_gb FROM allocations WHERE consumer_uuid = $1', [uuid]);
  const f = inst.flavor;
  const mine = allocs.rows.filter((a) => a.host === inst.host && a.vcpus === f.vcpus && a.memory_mb === f.memory_mb && a.disk_gb === f.root_gb);
  if (allocs.rows.length !== 1 || mine.length !== 1) {
    v.push(`allocations ${allocs.rows.map((a) => `${a.host}:${a.vcpus}/${a.memory_mb}/${a.disk_gb}`).join(',') || 'none'}, expected ${inst.host}:${f.vcpus}/${f.memory_mb}/${f.root_gb}`);
  }

  if (v.length === 0 && diskSha && inst.host) {
    const path = join(instanceDir(stateDir, inst.host, uuid), 'disk');
    const now = await sha256(path, diskBytes).catch((err: Error) => `unreadable: ${err.message}`);
    if (now !== diskSha) v.push(`disk on ${inst.host} differs from the source's at power-off (${now.slice(0, 12)} ≠ ${diskSha.slice(0, 12)})`);
  }
  return { ok: v.length === 0, humanNeeded: false, violations: v, where };
}

/** VM directories on any host whose instance the database does not have (or has deleted): orphans of any cell. */
export async function orphansOnHosts(db: pg.Client, stateDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const host of COMPUTES) {
    const dir = join(stateDir, 'hosts', host, 'instances');
    if (!existsSync(dir)) continue;
    for (const uuid of readdirSync(dir)) {
      if (!/^[0-9a-f-]{36}$/.test(uuid)) continue;
      const r = await db.query<{ host: string | null; deleted_at: Date | null }>('SELECT host, deleted_at FROM instances WHERE uuid = $1', [uuid]);
      const row = r.rows[0];
      if (!row || row.deleted_at) out.push(`${host}:${uuid}`);
    }
  }
  return out;
}
