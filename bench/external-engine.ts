/**
 * Chilly on a qBittorrent that holds many torrents (issue 15): how fast the API lists jobs while
 * the driver follows the engine, what one sync with the engine costs (incremental, as the driver
 * does every second, against a full `sync/maindata`, which is what qBittorrent's own Web UI pays
 * on every page load), and how long a restarted Chilly takes to re-attach its jobs.
 *
 * Setup: a qbittorrent-nox on loopback (the tests' harness: DHT, LSD, PeX, UPnP off) with
 * `--torrents` tiny torrents whose only tracker is a closed loopback port (they stay looking for
 * peers, as idle torrents do); Chilly (`startServer`, in this process) has `--jobs` of them as
 * jobs, all running (CHILLY_MAX_ACTIVE_DOWNLOADS), the rest were added to qBittorrent directly,
 * as a user's own torrents would be.
 *
 *   npx tsx bench/external-engine.ts [--torrents 1000] [--jobs 100] [--requests 200]
 *
 * Loopback only; every process it starts is stopped at the end.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import createTorrent from 'create-torrent';
import { type RunningServer, startServer } from '../src/app.js';
import { loadConfig } from '../src/config/resolve-config.js';
import { QBittorrentAdapter } from '../src/downloaders/qbittorrent/qbittorrent-adapter.js';
import { resolveTorrentSource } from '../src/downloaders/torrent-source.js';
import { startQBittorrentDaemon } from '../tests/helpers/qbittorrent-daemon.js';
import { tempDir } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: {
    torrents: { type: 'string', default: '1000' },
    jobs: { type: 'string', default: '100' },
    requests: { type: 'string', default: '200' },
  },
});
const torrentCount = Number(values.torrents);
const jobCount = Math.min(Number(values.jobs), torrentCount, 100);
const requestCount = Number(values.requests);
const TOKEN = 'external-engine-bench-token-0123';
const ANNOUNCE = 'http://127.0.0.1:9/announce'; // the discard port: nothing answers

function makeTorrent(index: number): Promise<Buffer> {
  const content = Object.assign(randomBytes(16 * 1024), { name: `Bench.Film.${index}.mkv` });
  return new Promise((resolve, reject) => {
    createTorrent(content, { name: `Bench.Film.${index}.mkv`, announceList: [[ANNOUNCE]] }, (error, torrent) =>
      error ? reject(error) : resolve(Buffer.from(torrent)),
    );
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
}

const work = await tempDir('chilly-bench-engine-');
const daemon = await startQBittorrentDaemon({ workDir: path.join(work.dir, 'qbittorrent') });
const probe = new QBittorrentAdapter({ url: daemon.url, username: daemon.username, password: daemon.password });
let server: RunningServer | undefined;
const config = () =>
  loadConfig(
    {
      CHILLY_DATA_DIR: path.join(work.dir, 'data'),
      CHILLY_NETWORK: 'loopback',
      CHILLY_TOKEN: TOKEN,
      CHILLY_ENGINE: 'qbittorrent',
      CHILLY_QBITTORRENT_URL: daemon.url,
      CHILLY_QBITTORRENT_USERNAME: daemon.username,
      CHILLY_QBITTORRENT_PASSWORD: daemon.password,
      CHILLY_MAX_ACTIVE_DOWNLOADS: String(Math.max(1, jobCount)),
    },
    { host: '127.0.0.1', port: 0 },
  );
const api = (route: string, init: RequestInit = {}) =>
  fetch(`${server?.url}${route}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string> | undefined) },
  });

try {
  console.log(
    `qBittorrent ${await probe.connect().then(() => probe.version())}: ${torrentCount} torrents, ${jobCount} of them Chilly's jobs`,
  );
  const torrents = await Promise.all(Array.from({ length: torrentCount }, (_, index) => makeTorrent(index)));
  // The user's own torrents, straight into qBittorrent, a few at a time.
  const own = torrents.slice(jobCount);
  const [, ownMs] = await timed(async () => {
    for (let start = 0; start < own.length; start += 16) {
      await Promise.all(
        own.slice(start, start + 16).map(async (torrentFile, offset) =>
          probe.add({
            infoHash: (await resolveTorrentSource({ sourceType: 'torrent', torrentFile })).infoHash,
            torrentFile,
            savePath: path.join(daemon.downloadDir, `own-${start + offset}`),
            sequential: false,
          }),
        ),
      );
    }
  });
  console.log(`added ${own.length} torrents to qBittorrent directly in ${(ownMs / 1000).toFixed(1)} s`);

  server = await startServer({ config: config(), logger: false });
  const [, addMs] = await timed(async () => {
    for (const [index, torrentFile] of torrents.slice(0, jobCount).entries()) {
      const answer = await api(`/download/upload?id=bench-${index}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-bittorrent' },
        body: torrentFile,
      });
      if (answer.status !== 201) throw new Error(`upload ${index}: ${answer.status} ${await answer.text()}`);
    }
  });
  console.log(`added ${jobCount} jobs through Chilly in ${(addMs / 1000).toFixed(1)} s`);
  const attached = async () => {
    const page = (await (await api('/downloads?status=queued&limit=1')).json()) as { total: number };
    return jobCount - page.total;
  };
  const deadline = Date.now() + 120_000;
  while ((await attached()) < jobCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

  // GET /downloads while the driver follows the engine every second.
  const latencies: number[] = [];
  for (let index = 0; index < requestCount; index++) {
    const [, ms] = await timed(async () => (await api('/downloads?limit=100')).arrayBuffer());
    latencies.push(ms);
  }
  latencies.sort((a, b) => a - b);

  // One sync with the engine: incremental (what the driver does each second) vs full.
  const incremental: number[] = [];
  const full: number[] = [];
  await probe.sync();
  for (let round = 0; round < 20; round++) {
    incremental.push((await timed(() => probe.sync()))[1]);
    probe.resetSync();
    full.push((await timed(() => probe.sync()))[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  incremental.sort((a, b) => a - b);
  full.sort((a, b) => a - b);

  // Restart: from startServer to every job attached (none left `queued`).
  await server.close();
  const [, restartMs] = await timed(async () => {
    server = await startServer({ config: config(), logger: false });
    const until = Date.now() + 120_000;
    while ((await attached()) < jobCount && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  });
  const after = await attached();
  probe.resetSync();
  const inEngine = (await probe.sync()).torrents.length;

  const row = (name: string, value: string, compare: string) =>
    console.log(`${name.padEnd(48)} ${value.padStart(12)}   ${compare}`);
  console.log('');
  row('measure', 'Chilly', 'comparison');
  row(
    `GET /downloads?limit=100, p50 (${requestCount} requests)`,
    `${percentile(latencies, 50).toFixed(1)} ms`,
    `p95 ${percentile(latencies, 95).toFixed(1)} ms`,
  );
  row(
    'engine sync, incremental (each second), p50',
    `${percentile(incremental, 50).toFixed(1)} ms`,
    `full sync/maindata (qBittorrent Web UI load): p50 ${percentile(full, 50).toFixed(1)} ms`,
  );
  row(
    `restart → all ${jobCount} jobs re-attached`,
    `${(restartMs / 1000).toFixed(2)} s`,
    `${after}/${jobCount} attached, ${inEngine} torrents in qBittorrent (none added again)`,
  );
} finally {
  await server?.close().catch(() => undefined);
  await probe.close().catch(() => undefined);
  await daemon.close();
  await work.cleanup();
}
