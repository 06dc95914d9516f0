// Slows password guessing: a per-address budget of failed logins (in this process) and Keystone's per-user
// lockout (in the database, so every API process sees it).
import type { DataSource } from 'typeorm';
import { TooManyRequests } from '@ferry/common/domain';
import type { User } from '@ferry/common/db';
import { AuthenticationFailed } from './authenticate';

export interface LoginPolicy {
  /** Failed logins after which a user is locked out; 0 never locks. */
  lockoutFailureAttempts: number;
  /** How long a lockout lasts, and the window failures are counted in. */
  lockoutDurationSeconds: number;
  /** Failed logins one address may make per minute; 0 is no limit. */
  loginFailuresPerAddress: number;
}

const ADDRESS_WINDOW_MS = 60_000;
/** Addresses remembered at most; older windows are dropped first, so a spray of addresses cannot grow memory. */
const MAX_ADDRESSES = 50_000;

interface AddressWindow {
  startedAt: number;
  failures: number;
}

export class LoginGuard {
  private readonly addresses = new Map<string, AddressWindow>();

  constructor(private readonly ds: DataSource, private readonly policy: LoginPolicy) {}

  /** Refuses, before any hashing, an address that has used up its failed logins for this minute. */
  admitAddress(address: string, now = Date.now()): void {
    const limit = this.policy.loginFailuresPerAddress;
    if (limit === 0) return;
    const window = this.addresses.get(address);
    if (!window || now - window.startedAt >= ADDRESS_WINDOW_MS || window.failures < limit) return;
    const retryAfter = Math.ceil((window.startedAt + ADDRESS_WINDOW_MS - now) / 1000);
    throw new TooManyRequests(`Too many failed logins from ${address}; retry in ${retryAfter} s.`, { retry_after: retryAfter });
  }

  /** Keystone answers a locked account with 401 before looking at the password. */
  assertUnlocked(user: User, now = new Date()): void {
    if (!this.isLocked(user, now)) return;
    throw new AuthenticationFailed(`user ${user.id} is locked out after ${user.failed_auth_count} failed logins`, `The account is locked for user: ${user.id}.`);
  }

  async failed(address: string, user: User | null, now = new Date()): Promise<void> {
    this.countAddressFailure(address, now.getTime());
    if (!user || this.policy.lockoutFailureAttempts === 0) return;
    const windowStart = new Date(now.getTime() - this.policy.lockoutDurationSeconds * 1000);
    await this.ds.query(
      `UPDATE users SET failed_auth_count = CASE WHEN failed_auth_at > $2 THEN failed_auth_count + 1 ELSE 1 END, failed_auth_at = $3
        WHERE id = $1`,
      [user.id, windowStart, now],
    );
  }

  async succeeded(user: User): Promise<void> {
    if (user.failed_auth_count === 0) return;
    await this.ds.query('UPDATE users SET failed_auth_count = 0, failed_auth_at = NULL WHERE id = $1', [user.id]);
  }

  private isLocked(user: User, now: Date): boolean {
    const { lockoutFailureAttempts: attempts, lockoutDurationSeconds: seconds } = this.policy;
    if (attempts === 0 || user.failed_auth_count < attempts || !user.failed_auth_at) return false;
    return now.getTime() - new Date(user.failed_auth_at).getTime() < seconds * 1000;
  }

  private countAddressFailure(address: string, now: number): void {
    if (this.policy.loginFailuresPerAddress === 0) return;
    const window = this.addresses.get(address);
    if (window && now - window.startedAt < ADDRESS_WINDOW_MS) {
      window.failures++;
      return;
    }
    if (this.addresses.size >= MAX_ADDRESSES) this.forgetOldest();
    this.addresses.delete(address);
    this.addresses.set(address, { startedAt: now, failures: 1 });
  }

  /** Insertion order is age order: drop the first tenth. */
  private forgetOldest(): void {
    let n = Math.floor(MAX_ADDRESSES / 10);
    for (const key of this.addresses.keys()) {
      if (n-- <= 0) break;
      this.addresses.delete(key);
    }
  }
}
