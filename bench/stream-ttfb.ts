/**
 * Time to first byte of a seek: a player asks for the middle (50 %) of a ≥ 1 GiB film whose job
 * was added a moment ago, so none of that data is on disk yet. Each round starts a fresh server
 * (engine → service → HTTP API on 127.0.0.1), adds the magnet, asks for the stream link and sends
 * `Range: bytes=<50 %>-`; then, as a player seeking again, `Range: bytes=<75 %>-`. The seeder is
 * rate-limited (a home connection) so the sequential download is nowhere near the playhead.
 * Everything stays on 127.0.0.1 with DHT, LSD, UPnP and NAT-PMP off.
 *
 *   npx tsx bench/stream-ttfb.ts [--size-mib 1024] [--rounds 5] [--upload-limit-mib 8] [--piece-kib 1024]
 *
 * Needs about 2.5 × size of temporary space (the seeded file, plus what each round downloads).
 */
import { randomBytes } from 'node:crypto';
import { open, rm, statfs } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from '../src/api/create-server.js';
import { loadConfig } from '../src/config/resolve-config.js';
import { WebTorrentDownloader } from '../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../src/service/download-service.js';
import { openDatabase } from '../src/storage/database.js';
import { createLoopbackSwarm, type LoopbackSwarm } from '../tests/helpers/loopback-swarm.js';
import { tempDir } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    'upload-limit-mib': { type: 'string', default: '8' },
    'piece-kib': { type: 'string', default: '1024' },
  },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const uploadLimitMiB = Number(values['upload-limit-mib']);
const pieceKiB = Number(values['piece-kib']);
if (
  !(sizeMiB >= 16 && sizeMiB <= 8192) ||
  !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20) ||
  !(uploadLimitMiB >= 0 && uploadLimitMiB <= 10_000) ||
  ![16, 32, 64, 128, 256, 512, 1024, 2048, 4096].includes(pieceKiB)
) {
  console.error(
    '--size-mib 16..8192, --rounds 1..20, --upload-limit-mib 0..10000 (0: unlimited), --piece-kib 16..4096',
  );
  process.exit(2);
}
const MiB = 1024 * 1024;
const size = sizeMiB * MiB;
const GOAL_MS = 1_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** The whole run is bounded, whatever happens. */
const DEADLINE_MS = 30 * 60_000;

const free = await statfs(tmpdir());
if (free.bavail * free.bsize < size * 2.5) {
  console.error(
    `Needs ${((size * 2.5) / 2 ** 30).toFixed(1)} GiB free under ${tmpdir()}; ` +
      `${((free.bavail * free.bsize) / 2 ** 30).toFixed(1)} GiB are. Use --size-mib or TMPDIR.`,
  );
  process.exit(2);
}

const work = await tempDir('chilly-bench-ttfb-');
const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | undefined;
const cleanUp = () => {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await work.cleanup();
  })();
  return cleaning;
};
const deadline = setTimeout(() => {
  console.error(`Gave up after ${DEADLINE_MS / 60_000} minutes.`);
  void cleanUp().finally(() => process.exit(1));
}, DEADLINE_MS);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

interface FirstByte {
  status: number;
  /** Request sent → first body byte, ms. */
  ms: number;
  firstBytes: Buffer;
}

/** Sends a Range request and stops at the first body bytes: the time a player waits to show a frame. */
function firstByte(url: string, range: string): Promise<FirstByte> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { headers: { range }, agent: false }, (res) => {
      res.once('data', (chunk: Buffer) => {
        const ms = performance.now() - started;
        req.destroy();
        resolve({ status: res.statusCode ?? 0, ms, firstBytes: chunk.subarray(0, 64) });
      });
      res.once('end', () => reject(new Error(`no body (status ${res.statusCode})`)));
      res.on('error', () => undefined);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no byte within ${REQUEST_TIMEOUT_MS} ms`)));
    // After the first byte the request is destroyed on purpose: a later error changes nothing.
    req.on('error', reject);
  });
}

async function expectBytes(swarm: LoopbackSwarm, offset: number, actual: Buffer): Promise<void> {
  const handle = await open(path.join(swarm.dataDir, 'ttfb.mkv'), 'r');
  try {
    const expected = Buffer.alloc(actual.length);
    await handle.read(expected, 0, actual.length, offset);
    if (!expected.equals(actual)) throw new Error(`wrong bytes at offset ${offset}`);
  } finally {
    await handle.close();
  }
}

/** One round on a fresh server: add the magnet, get the link, seek to 50 %, then to 75 %. */
async function round(swarm: LoopbackSwarm, n: number): Promise<{ add: number; middle: number; seek: number }> {
  const dir = path.join(work.dir, `round-${n}`);
  const config = loadConfig({ CHILLY_DATA_DIR: dir, CHILLY_NETWORK: 'loopback' }, { host: '127.0.0.1', port: 0 });
  const downloader = new WebTorrentDownloader({ mediaRoot: config.mediaRoot, network: 'loopback' });
  const service = await DownloadService.open({ database: openDatabase(':memory:'), downloader });
  const token = randomBytes(32).toString('base64url');
  const app = createServer({ service, config, token, logger: false });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const auth = { authorization: `Bearer ${token}` };
    const added = performance.now();
    const start = await app.inject({
      method: 'POST',
      url: '/download/start',
      headers: auth,
      payload: { id: 'film', sourceType: 'torrent', sourceUrn: swarm.magnetURI },
    });
    if (start.statusCode !== 201) throw new Error(`start: ${start.statusCode} ${start.body}`);
    const link = await app.inject({ method: 'GET', url: '/download/stream-url/film', headers: auth });
    const { url } = JSON.parse(link.body) as { url: string };
    const playable = url.replace(/^http:\/\/[^/]+/, base);
    const middle = Math.floor(size / 2);
    const first = await firstByte(playable, `bytes=${middle}-`);
    const sinceAdd = performance.now() - added;
    if (first.status !== 206) throw new Error(`50 %: status ${first.status}`);
    await expectBytes(swarm, middle, first.firstBytes);
    const later = Math.floor(size * 0.75);
    const seek = await firstByte(playable, `bytes=${later}-`);
    if (seek.status !== 206) throw new Error(`75 %: status ${seek.status}`);
    await expectBytes(swarm, later, seek.firstBytes);
    const done = service.get('film').progress.bytesDone;
    console.error(
      `round ${n}: add→byte ${sinceAdd.toFixed(0)} ms, request→byte at 50 % ${first.ms.toFixed(0)} ms, ` +
        `seek to 75 % ${seek.ms.toFixed(0)} ms (job progress then: ${(done / MiB).toFixed(0)} MiB)`,
    );
    return { add: sinceAdd, middle: first.ms, seek: seek.ms };
  } finally {
    await app.close();
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

try {
  const prepared = performance.now();
  console.error(`Writing and hashing a ${sizeMiB} MiB file for the seeder…`);
  const swarm = await createLoopbackSwarm({
    name: 'ttfb.mkv',
    files: [{ path: 'ttfb.mkv', size }],
    pieceLength: pieceKiB * 1024,
    ...(uploadLimitMiB > 0 ? { uploadLimit: uploadLimitMiB * MiB } : {}),
    workDir: path.join(work.dir, 'swarm'),
  });
  cleanups.push(() => swarm.close());
  console.error(`…ready in ${((performance.now() - prepared) / 1000).toFixed(1)} s.`);

  const results = { add: [] as number[], middle: [] as number[], seek: [] as number[] };
  for (let n = 1; n <= rounds; n++) {
    const figures = await round(swarm, n);
    results.add.push(figures.add);
    results.middle.push(figures.middle);
    results.seek.push(figures.seek);
  }

  const seeder = uploadLimitMiB > 0 ? `seeder limited to ${uploadLimitMiB} MiB/s` : 'seeder unlimited';
  console.log(
    `\nStream time to first byte, ${sizeMiB} MiB file, ${pieceKiB} KiB pieces, ${seeder}, ${rounds} rounds, loopback`,
  );
  console.log('| measure | median | min – max | goal |');
  console.log('|---|---|---|---|');
  const row = (label: string, xs: number[], goal: string) =>
    console.log(
      `| ${label} | ${median(xs).toFixed(0)} ms | ${Math.min(...xs).toFixed(0)} – ${Math.max(...xs).toFixed(0)} ms | ${goal} |`,
    );
  row('Range at 50 %: request → first byte (magnet just added)', results.middle, `≤ ${GOAL_MS} ms`);
  row('…counted from adding the magnet', results.add, '');
  row('then seek to 75 %: request → first byte', results.seek, `≤ ${GOAL_MS} ms`);
  const met = median(results.middle) <= GOAL_MS && median(results.seek) <= GOAL_MS;
  console.log(`\nGoal (≤ ${GOAL_MS} ms to the first byte at 50 %): ${met ? 'met' : 'NOT met'}`);
} finally {
  await cleanUp();
  clearTimeout(deadline);
}
