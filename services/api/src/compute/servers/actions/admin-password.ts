// The admin password an action answers with (rescue, evacuate before 2.14): the one asked for, or a generated one.
import { randomBytes } from 'node:crypto';

/** Nova's generated passwords: 12 characters from an alphabet without look-alikes. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join('');
}
