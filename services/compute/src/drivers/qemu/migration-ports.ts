// Ports an incoming migration listens on: the first of a configured range that nobody holds now. A port taken
// between the look and QEMU's bind makes QEMU's bind fail, and the caller tries the next one.
import { createServer } from 'node:net';

export interface PortRange {
  min: number;
  max: number;
}

/** Whether address:port can be bound right now. */
function isFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Runs bind with free ports of the range, in a rotating order, until one binds; throws bind's last error otherwise. */
export async function withFreePort<T>(range: PortRange, address: string, bind: (port: number) => Promise<T>, skip: ReadonlySet<number> = new Set()): Promise<T> {
  const size = range.max - range.min + 1;
  const start = Math.floor(Math.random() * size);
  let lastError: Error | undefined;
  for (let i = 0; i < size; i++) {
    const port = range.min + ((start + i) % size);
    if (skip.has(port) || !(await isFree(address, port))) continue;
    try {
      return await bind(port);
    } catch (err) {
      lastError = err as Error;
      if (!/in use|bind/i.test(lastError.message)) throw err;
    }
  }
  throw new Error(`no free port in ${range.min}-${range.max} on ${address}${lastError ? ` (last: ${lastError.message})` : ''}`);
}
