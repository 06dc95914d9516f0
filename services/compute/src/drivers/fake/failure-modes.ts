// Failures that hypervisors and people leave behind Ferry's back (the ones `cleanup` repairs), as data: for each, what
// the guest's host (`source`, the host the database names) and one other host (`other`: a move's destination, or a
// host nobody named) hold of it afterwards. A test, or an operator rehearsing a repair, applies one to fake hosts.
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { migratingGuestName } from '@ferry/common/domain';
import type { VmSpec } from '../driver';
import { VmNotFound } from '../errors';
import { instancesDirOf } from '../instance-paths';
import { copyBlockDevice, planBlockCopy } from './block-copy';
import { DISK_FILE, createSparseDisk, readVmRecord, writeVmRecord, type FakeVmRecord, type FakeVmState } from './vm-files';

/**
 * What one host holds afterwards: nothing, its copy untouched, or a VM in `state` (renamed, or without a definition)
 * whose disk is a copy of the source's (`copied`: the guest's data went there) or a new empty one.
 */
export type HostLeftover =
  | 'gone'
  | 'as_is'
  | { state: FakeVmState; renamed?: true; transient?: true; copied?: true };

export interface FailureMode {
  summary: string;
  source: HostLeftover;
  other: HostLeftover;
}

export const FAILURE_MODES = {
  xen_freeze: {
    summary: 'a live migration whose source could not freeze the guest: it runs on under the migration name, while the destination holds an empty paused domain',
    source: { state: 'running', renamed: true },
    other: { state: 'incoming' },
  },
  definition_not_written: {
    summary: 'the guest migrated and runs on the destination from memory, but its definition was never written there; the source finalized (its copy is gone)',
    source: 'gone',
    other: { state: 'running', transient: true, copied: true },
  },
  finalize_dest_only: {
    summary: 'finalize ran on the destination (the guest runs there) but not on the source, which still holds its paused copy',
    source: { state: 'paused' },
    other: { state: 'running', copied: true },
  },
  finalize_source_only: {
    summary: 'finalize ran on the source (its copy is gone) but not on the destination, which holds the transferred guest paused, never resumed',
    source: 'gone',
    other: { state: 'incoming', copied: true },
  },
  started_by_hand: {
    summary: 'a copy defined and started by hand on a host the database does not name, while the copy on the named host runs on',
    source: 'as_is',
    other: { state: 'running', copied: true },
  },
  moved_by_hand: {
    summary: 'the guest moved by hand: it runs on a host the database does not name and its copy on the named host is gone',
    source: 'gone',
    other: { state: 'running', copied: true },
  },
} as const satisfies Record<string, FailureMode>;

export type FailureModeName = keyof typeof FAILURE_MODES;

export interface FailureSite {
  stateDir: string;
  /** The instance as the database defines it (what a copy made on `other` is defined from). */
  spec: VmSpec;
  source: string;
  other: string;
}

/** Leaves the fake hosts' files as `mode` leaves them; `source` must hold the guest's VM (as Ferry built it). */
export async function induceFailureMode(mode: FailureModeName, site: FailureSite): Promise<void> {
  const m: FailureMode = FAILURE_MODES[mode];
  const sourceDir = join(instancesDirOf(site.stateDir, site.source), site.spec.uuid);
  const original = await readVmRecord(sourceDir);
  if (!original) throw VmNotFound.forUuid(site.spec.uuid, site.source);
  // The other host first: a copy there takes the source's disk before the source's may go.
  await leave(m.other, join(instancesDirOf(site.stateDir, site.other), site.spec.uuid), { ...original, incoming_from: site.source }, site, sourceDir);
  await leave(m.source, sourceDir, original, site, sourceDir);
}

async function leave(what: HostLeftover, dir: string, base: FakeVmRecord, site: FailureSite, sourceDir: string): Promise<void> {
  if (what === 'as_is') return;
  if (what === 'gone') {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const record: FakeVmRecord = {
    ...base,
    name: what.renamed ? migratingGuestName(site.spec.uuid) : site.spec.name,
    state: what.state,
    incoming_from: what.state === 'incoming' ? base.incoming_from ?? null : null,
    ...(what.transient ? { transient: true } : {}),
    updated_at: new Date().toISOString(),
  };
  if (dir === sourceDir) {
    await writeVmRecord(dir, record);
    return;
  }
  // A copy on another host appears whole, as a hypervisor's domain does: it is built beside the host's instances
  // directory and renamed into it, so a compute's periodic pass never finds (and clears) a VM directory half made.
  const instances = dirname(dir);
  await mkdir(instances, { recursive: true });
  const staging = await mkdtemp(join(dirname(instances), `.leftover-${site.spec.uuid}-`));
  try {
    await createSparseDisk(join(staging, DISK_FILE), what.copied ? 0 : site.spec.flavor.root_gb);
    // Data blocks only, so the copy stays as sparse as the source's disk.
    if (what.copied) {
      const source = join(sourceDir, DISK_FILE);
      await copyBlockDevice(source, join(staging, DISK_FILE), await planBlockCopy(source), { signal: new AbortController().signal, onProgress: () => undefined });
    }
    await writeVmRecord(staging, record);
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
