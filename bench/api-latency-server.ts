/**
 * The server side of bench/api-latency.ts, in its own process as in real use (the UI is another
 * process), so the load generator does not share the server's event loop. Started by the bench
 * with an IPC channel: it reports `{ port, token, ids }` once ready and closes on 'stop' or when
 * the bench goes away.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from '../src/api/create-server.js';
import { loadConfig } from '../src/config/resolve-config.js';
import { MockDownloader } from '../src/downloaders/mock-downloader.js';
import { DownloadService } from '../src/service/download-service.js';
import { openDatabase } from '../src/storage/database.js';
import { testMagnet } from '../tests/helpers/api-test-server.js';

export interface BenchServerReady {
  port: number;
  token: string;
  ids: string[];
  summary: string;
}

const JOBS = 1_000;
const ACTIVE = 100;
const PAUSED = 400;

if (process.send === undefined) {
  console.error('started by bench/api-latency.ts only');
  process.exit(2);
}

const dir = await mkdtemp(path.join(tmpdir(), 'chilly-bench-api-'));
const config = loadConfig({ CHILLY_DATA_DIR: dir, CHILLY_NETWORK: 'loopback' }, { host: '127.0.0.1', port: 0 });
// Real clock: 100 jobs × 4 progress events a second keep the service busy while the bench measures.
const downloader = new MockDownloader({ mediaRoot: config.mediaRoot, bytesPerSecond: 1024 * 1024 });
const service = await DownloadService.open({
  database: openDatabase(path.join(dir, 'chilly.db')),
  downloader,
  maxActiveDownloads: ACTIVE,
});
const token = randomBytes(32).toString('base64url');
const app = createServer({ service, config, token, logger: false });

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= (async () => {
    await app.close();
    await service.close();
    await rm(dir, { recursive: true, force: true });
    process.disconnect?.();
  })();
  return stopping;
}
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
// The bench died: do not outlive it.
process.on('disconnect', () => void stop());

const ids = Array.from({ length: JOBS }, (_, index) => `job-${String(index).padStart(4, '0')}`);
for (const id of ids) await service.add({ id, sourceType: 'torrent', sourceUrn: testMagnet(id) });
for (const id of ids.slice(ACTIVE, ACTIVE + PAUSED)) await service.pause(id);
const health = service.health();
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
const ready: BenchServerReady = {
  port: address.port,
  token,
  ids,
  summary: `${JOBS} jobs stored in SQLite (file, WAL): ${health.activeDownloads} downloading on the mock engine, ${health.queued} queued, ${PAUSED} paused`,
};
process.send(ready);
