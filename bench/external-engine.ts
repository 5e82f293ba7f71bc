/**
 * Chilly on a qBittorrent (or Transmission) that holds many torrents (issue 15): how fast the API lists jobs while
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
 *   npx tsx bench/external-engine.ts [--engine qbittorrent|transmission] [--torrents 1000] [--jobs 100] [--requests 200]
 *
 * It also counts the progress events the service publishes (to every SSE client) in 10 s while the
 * jobs sit idle, once the engine has checked them.
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
import type { EngineAdapter } from '../src/downloaders/remote/engine-adapter.js';
import { resolveTorrentSource } from '../src/downloaders/torrent-source.js';
import { TransmissionAdapter } from '../src/downloaders/transmission/transmission-adapter.js';
import { startQBittorrentDaemon } from '../tests/helpers/qbittorrent-daemon.js';
import { startTransmissionDaemon } from '../tests/helpers/transmission-daemon.js';
import { tempDir } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'qbittorrent' },
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
const engine = values.engine;
if (engine !== 'qbittorrent' && engine !== 'transmission') throw new Error('--engine: qbittorrent or transmission');
const ENGINE_NAME = engine === 'qbittorrent' ? 'qBittorrent' : 'Transmission';
const daemon =
  engine === 'qbittorrent'
    ? await startQBittorrentDaemon({ workDir: path.join(work.dir, engine) })
    : await startTransmissionDaemon({ workDir: path.join(work.dir, engine) });
const stopDaemon = (): Promise<void> => ('close' in daemon ? daemon.close() : daemon.stop());
const credentials = { url: daemon.url, username: daemon.username, password: daemon.password };
const probe: EngineAdapter =
  engine === 'qbittorrent' ? new QBittorrentAdapter(credentials) : new TransmissionAdapter(credentials);
const ENGINE_ENV = engine === 'qbittorrent' ? 'QBITTORRENT' : 'TRANSMISSION';
let server: RunningServer | undefined;
const config = () =>
  loadConfig(
    {
      CHILLY_DATA_DIR: path.join(work.dir, 'data'),
      CHILLY_NETWORK: 'loopback',
      CHILLY_TOKEN: TOKEN,
      CHILLY_ENGINE: engine,
      [`CHILLY_${ENGINE_ENV}_URL`]: daemon.url,
      [`CHILLY_${ENGINE_ENV}_USERNAME`]: daemon.username,
      [`CHILLY_${ENGINE_ENV}_PASSWORD`]: daemon.password,
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
    `${ENGINE_NAME} ${await probe.connect().then(() => probe.version())}: ${torrentCount} torrents, ${jobCount} of them Chilly's jobs`,
  );
  const torrents = await Promise.all(Array.from({ length: torrentCount }, (_, index) => makeTorrent(index)));
  // The user's own torrents, straight into the engine, a few at a time.
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
  console.log(`added ${own.length} torrents to ${ENGINE_NAME} directly in ${(ownMs / 1000).toFixed(1)} s`);

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

  // Events the service publishes (to every SSE client) while the jobs sit idle, looking for peers:
  // an engine lists torrents again for changes Chilly does not show.
  const IDLE_WINDOW_MS = 10_000;
  // After the engine has checked the new torrents (each one's end of checking is news, once).
  const SETTLE_MS = 15_000;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  let idleEvents = 0;
  const unsubscribe = server.service.subscribe((event) => {
    if (event.type === 'progress') idleEvents += 1;
  });
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  unsubscribe();

  // One sync with the engine: what the driver does each second (incremental, or on qBittorrent
  // 4.5.0-4.6.0 the whole torrents/info list) vs a full one. On qBittorrent the full one is a full
  // sync/maindata (what its own Web UI pays on every page load), and the incremental maindata is
  // shown too, as what the other versions get.
  const mainData = engine === 'qbittorrent' ? new QBittorrentAdapter({ ...credentials, syncVia: 'maindata' }) : probe;
  const each: number[] = [];
  const mainDataIncremental: number[] = [];
  const full: number[] = [];
  await probe.sync();
  await mainData.sync();
  for (let round = 0; round < 20; round++) {
    each.push((await timed(() => probe.sync()))[1]);
    if (mainData !== probe) mainDataIncremental.push((await timed(() => mainData.sync()))[1]);
    mainData.resetSync();
    full.push((await timed(() => mainData.sync()))[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (mainData !== probe) await mainData.close();
  for (const list of [each, mainDataIncremental, full]) list.sort((a, b) => a - b);

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
    `progress events, ${jobCount} idle jobs, ${IDLE_WINDOW_MS / 1000} s`,
    `${(idleEvents / (IDLE_WINDOW_MS / 1000)).toFixed(1)} /s`,
    `the driver polls once a second: ${jobCount} per second if every poll were news`,
  );
  const fullText = `full sync${engine === 'qbittorrent' ? '/maindata (qBittorrent Web UI load)' : ''}: p50 ${percentile(full, 50).toFixed(1)} ms`;
  row(
    `engine sync as the driver does it (each second), p50`,
    `${percentile(each, 50).toFixed(1)} ms`,
    mainDataIncremental.length > 0
      ? `${fullText}; incremental maindata p50 ${percentile(mainDataIncremental, 50).toFixed(1)} ms`
      : fullText,
  );
  row(
    `restart → all ${jobCount} jobs re-attached`,
    `${(restartMs / 1000).toFixed(2)} s`,
    `${after}/${jobCount} attached, ${inEngine} torrents in ${ENGINE_NAME} (none added again)`,
  );
} finally {
  await server?.close().catch(() => undefined);
  await probe.close().catch(() => undefined);
  await stopDaemon();
  await work.cleanup();
}
