/**
 * Loopback ports for tests and benchmarks: one nothing listens on, to listen on next or to connect
 * to and be refused.
 */
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: the kernel picks it, then it is
 * released. Listen on it soon (another process may take it), or connect to it to be refused.
 */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('probe server did not bind a TCP port');
  return address.port;
}
