/**
 * The swarm side of bench/many-torrents.ts, in its own process so that neither the server nor the
 * bench's clients share its event loop: one loopback tracker (tests/helpers/loopback-swarm.ts)
 * and one WebTorrent client (DHT, LSD, UPnP, NAT-PMP off) seeding the torrents the bench names.
 *
 * Over the IPC channel of `child_process.fork`: it sends `{ type: 'tracker', announceUrl }` once
 * the tracker listens; on `{ type: 'seed', items }` it seeds them and answers `{ type: 'seeding' }`;
 * on 'stop' (or when the bench goes away) it closes everything and exits.
 */
import { readFile } from 'node:fs/promises';
import {
  createSeederClient,
  type LoopbackTracker,
  seedTorrent,
  startLoopbackTracker,
} from '../tests/helpers/loopback-swarm.js';

export interface SeedItem {
  torrentPath: string;
  /** The folder that holds the torrent's content as it lays it out. */
  dataDir: string;
}

export type SeederRequest = { type: 'seed'; items: SeedItem[] } | { type: 'stop' };
export type SeederMessage =
  | { type: 'tracker'; announceUrl: string }
  | { type: 'seeding'; count: number }
  | { type: 'failed'; error: string };

const MAX_ITEMS = 5_000;
const CLOSE_DEADLINE_MS = 10_000;

if (process.send === undefined) {
  console.error('started by bench/many-torrents.ts only');
  process.exit(2);
}

function send(message: SeederMessage): void {
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}

let tracker: LoopbackTracker | undefined;
const client = createSeederClient(undefined);
let stopping = false;

function stop(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
  void (async () => {
    await new Promise<void>((resolve) => client.destroy(() => resolve()));
    await tracker?.close();
    process.exit(0);
  })();
}

process.once('disconnect', stop);
process.once('SIGTERM', stop);
process.on('message', (message: SeederRequest) => {
  if (message.type === 'stop') return stop();
  void (async () => {
    try {
      const items = message.items.slice(0, MAX_ITEMS);
      for (const item of items) {
        if (stopping) return;
        await seedTorrent(client, await readFile(item.torrentPath), item.dataDir);
      }
      send({ type: 'seeding', count: items.length });
    } catch (error) {
      send({ type: 'failed', error: String(error) });
    }
  })();
});

tracker = await startLoopbackTracker();
send({ type: 'tracker', announceUrl: tracker.announceUrl });
