// Where a copy's bytes land: the file operations a Transfer needs at the destination host.

/** A destination file open for writing. */
export interface DestinationFile {
  /** Writes all of data at offset. */
  write(offset: number, data: Buffer): Promise<void>;
  /** Makes the written data durable (when asked to) and closes the file. */
  close(opts: { sync: boolean }): Promise<void>;
}

/** The file system of the destination host, as one copy uses it. */
export interface Destination {
  /** Creates path (and missing parent directories), empty and sized to size, so unwritten regions stay holes. */
  create(path: string, size: number): Promise<DestinationFile>;
  /** Opens an existing file to patch it in place, setting its size to size; rejects when it does not exist. */
  openExisting(path: string, size: number): Promise<DestinationFile>;
  /** Renames from to to, replacing to. */
  rename(from: string, to: string): Promise<void>;
  /** Removes path; a missing file is no error. */
  remove(path: string): Promise<void>;
}

/** The temporary sibling a whole-file copy writes before the rename: fixed, so a retry reuses a crashed copy's leftover. */
export function partPathFor(path: string): string {
  return `${path}.part`;
}
