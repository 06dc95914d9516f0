// `ferry user password NAME`: replaces a user's password with one read from standard input (never from argv,
// which other users of the machine can read in the process list).
import type { FerryConfig } from '@ferry/common/config';
import { setUserPassword } from '@ferry/common/db';
import { openDb, rootLogger } from '../runtime';
import { UsageError } from './service';

/** The first line of standard input, without its line ending. */
async function readPassword(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

export async function setPassword(config: Readonly<FerryConfig>, name: string, input: NodeJS.ReadableStream = process.stdin): Promise<void> {
  const password = await readPassword(input);
  if (password.length < 8) throw new UsageError('the new password (first line of standard input) must have at least 8 characters');
  const log = rootLogger(config).child({ service: 'ferry-user' });
  const db = await openDb(config, log);
  try {
    if (!(await setUserPassword(db.dataSource, name, password))) throw new UsageError(`no user named ${name} in domain Default`);
    process.stdout.write(`password of user ${name} changed\n`);
  } finally {
    await db.close();
  }
}
