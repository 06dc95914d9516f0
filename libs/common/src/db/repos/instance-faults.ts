// The instance_faults table: the errors an instance hit, newest shown as the server's `fault`.
import type { DataSource } from 'typeorm';
import type { Db } from '../db-handle';
import { InstanceFault } from '../entities';

/** Nova keeps fault messages short (255 characters); the full text goes in details. */
export const FAULT_MESSAGE_MAX = 255;

export interface NewInstanceFault {
  instance_uuid: string;
  message: string;
  /** HTTP-style code, 500 (the default) for an unexpected failure. */
  code?: number;
  details?: string | null;
  host?: string | null;
}

export async function recordInstanceFault(ds: Db, fault: NewInstanceFault): Promise<InstanceFault> {
  const message = fault.message.length > FAULT_MESSAGE_MAX ? `${fault.message.slice(0, FAULT_MESSAGE_MAX - 3)}...` : fault.message;
  // One INSERT … RETURNING, atomic by itself: no transaction of its own (inside a caller's, it is part of that).
  return ds.getRepository(InstanceFault).save({
    instance_uuid: fault.instance_uuid, code: fault.code ?? 500, message,
    details: fault.details ?? (message === fault.message ? null : fault.message), host: fault.host ?? null,
  }, { transaction: false });
}

/** The instance's faults, newest first. */
export async function listInstanceFaults(ds: DataSource, instanceUuid: string): Promise<InstanceFault[]> {
  return ds.getRepository(InstanceFault).find({ where: { instance_uuid: instanceUuid }, order: { created_at: 'DESC', id: 'DESC' } });
}

/** The newest fault, the one the API shows; undefined when there is none. */
export async function latestInstanceFault(ds: DataSource, instanceUuid: string): Promise<InstanceFault | undefined> {
  const fault = await ds.getRepository(InstanceFault).findOne({ where: { instance_uuid: instanceUuid }, order: { created_at: 'DESC', id: 'DESC' } });
  return fault ?? undefined;
}
