// Where a fake VM lives on disk, written atomically so it outlives a crashed compute.
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file';

/** The states a fake VM can be in, as written in its state file (an operator or test may edit it). */
/** `incoming`: a live migration's destination VM, paused, waiting for the guest's state. */
/** `suspended`: the guest's memory saved to the host (libvirt's managed save), nothing runs until it resumes. */
export const FAKE_VM_STATES = ['running', 'paused', 'shutdown', 'crashed', 'incoming', 'suspended'] as const;
export type FakeVmState = (typeof FAKE_VM_STATES)[number];

/** The content of `<instance dir>/state.json`. */
export interface FakeVmRecord {
  uuid: string;
  name: string;
  state: FakeVmState;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  image_ref: string;
  /** The rescue image the guest booted from, while rescued. */
  rescue_image_ref?: string | null;
  /** While the VM is `incoming`: the host its guest arrives from by live migration. */
  incoming_from?: string | null;
  /** The guest runs from memory with no definition written on this host (a move that lost it); gone if it stops. */
  transient?: boolean;
  /** How many times the guest has booted (spawn, power on, reboot); a live-migrated guest keeps its count. */
  boots: number;
  created_at: string;
  updated_at: string;
}

export const STATE_FILE = 'state.json';
export const DISK_FILE = 'disk';
export const GIB = 1024 ** 3;

export async function writeVmRecord(dir: string, record: FakeVmRecord): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * The VM's record, or undefined when the directory holds none (never defined, or a spawn cut short). Read at almost
 * every driver step, so read synchronously: a state file is a few hundred bytes in the page cache, and reading it
 * in place costs a fraction of the four thread-pool round trips an asynchronous read takes.
 */
export async function readVmRecord(dir: string): Promise<FakeVmRecord | undefined> {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  const record = JSON.parse(text) as FakeVmRecord;
  if (!(FAKE_VM_STATES as readonly string[]).includes(record.state)) {
    throw new Error(`${join(dir, STATE_FILE)}: unknown state ${JSON.stringify(record.state)} (expected ${FAKE_VM_STATES.join(', ')})`);
  }
  return record;
}

/** Creates the root disk as a sparse file of `sizeGb` GiB: it takes (almost) no blocks until written. */
export async function createSparseDisk(path: string, sizeGb: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(sizeGb * GIB);
  } finally {
    await handle.close();
  }
}

/**
 * Grows the disk at `path` to `sizeGb` GiB when it is smaller, sparsely; never shrinks it (the bytes past a
 * smaller flavor's size are the guest's data). Rejects with ENOENT when there is no disk.
 */
export async function growDisk(path: string, sizeGb: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    if (size < sizeGb * GIB) await handle.truncate(sizeGb * GIB);
  } finally {
    await handle.close();
  }
}
