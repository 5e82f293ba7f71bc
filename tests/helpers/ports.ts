/**
 * Loopback ports for tests and benchmarks: one nothing listens on, to listen on next or to connect
 * to and be refused.
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/**
 * Below Linux's ephemeral range (32768–60999 by default): the kernel never hands these out for a
 * `listen(0)` or an outgoing connection, so between this check and the caller's own `listen` only
 * another explicit chooser could take the port. A port the kernel picked and released was taken
 * by another test's outgoing connection before transmission-daemon could bind it (seen in CI).
 * 21000–22999 are left to bench:swarm's relays and seeders.
 */
const FIRST = 23_000;
const LAST = 32_000;
const ATTEMPTS = 50;

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range. Listen
 * on it soon, or connect to it to be refused.
 */
export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const port = randomInt(FIRST, LAST);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port found in ${ATTEMPTS} tries between ${FIRST} and ${LAST}`);
}

async function canListen(port: number): Promise<boolean> {
  const probe = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => probe.close(() => resolve()));
  return bound;
}
