// An SSH public host key as it travels on the wire, with the SHA256 fingerprint OpenSSH shows for it.
import { createHash } from 'node:crypto';

export interface PublicHostKey {
  /** Key type, e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa. */
  readonly type: string;
  /** The key in SSH wire format (what known_hosts holds in base64). */
  readonly blob: Buffer;
}

/** The key in blob: its type is the blob's first SSH string. */
export function hostKeyFromBlob(blob: Buffer): PublicHostKey {
  if (blob.length < 4) throw new Error('host key blob is too short');
  const typeLength = blob.readUInt32BE(0);
  if (typeLength === 0 || 4 + typeLength > blob.length) throw new Error('host key blob has no key type');
  return { type: blob.subarray(4, 4 + typeLength).toString('latin1'), blob };
}

/** `SHA256:<unpadded base64>`, exactly as `ssh-keygen -l` and the ssh client print it. */
export function fingerprintOf(key: PublicHostKey): string {
  return `SHA256:${createHash('sha256').update(key.blob).digest('base64').replace(/=+$/, '')}`;
}

export function sameHostKey(a: PublicHostKey, b: PublicHostKey): boolean {
  return a.type === b.type && a.blob.equals(b.blob);
}

/** The host key algorithms that make a server offer a key of this type (an RSA key signs with several). */
export function algorithmsForKeyType(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}
