/**
 * The port for incoming peer connections, chosen once and kept in the data folder: a random port
 * at every start would make every peer, tracker and port forwarding forget us. A port set in the
 * configuration (CHILLY_TORRENT_PORT) wins; a kept one that another program took meanwhile is
 * replaced (with a warning) by a new free one, kept from then on.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export const TORRENT_PORT_FILE = 'torrent-port';
/** The dynamic range (RFC 6335): no registered service lives there. */
const LOWEST = 49_152;
const HIGHEST = 65_535;
const ATTEMPTS = 20;

/** Whether TCP `port` can be listened on (on every address, as the engine does). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

async function readKept(file: string): Promise<number | undefined> {
  try {
    const port = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(port) && port >= 1 && port <= HIGHEST ? port : undefined;
  } catch {
    return undefined;
  }
}

async function keep(dataDir: string, port: number): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, TORRENT_PORT_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${port}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

export async function chooseTorrentPort(
  dataDir: string,
  configured: number,
  warn: (message: string) => void,
): Promise<number> {
  if (configured !== 0) return configured;
  const kept = await readKept(path.join(dataDir, TORRENT_PORT_FILE));
  if (kept !== undefined) {
    if (await isFree(kept)) return kept;
    warn(
      `The torrent port ${kept} is in use by another program: choosing another one (set CHILLY_TORRENT_PORT to fix one).`,
    );
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (port === kept || !(await isFree(port))) continue;
    await keep(dataDir, port);
    return port;
  }
  // Every try was taken (a very busy machine): let the engine pick one for this run.
  warn('No free torrent port found in the dynamic range: using a random one for this run only.');
  return 0;
}
