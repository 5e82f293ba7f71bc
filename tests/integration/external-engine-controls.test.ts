/**
 * Issue 17: with an external engine, Chilly's everyday controls drive the engine's own ones. Against
 * a real qbittorrent-nox and transmission-daemon on loopback (fed by a loopback tracker and seeder),
 * through `RemoteEngineDownloader`: per-job and global speed limits read back from the engine's own
 * API; a completed torrent whose data was damaged is rechecked by the engine, downloads the bad piece
 * again and completes again; a running torrent's peers list the loopback seeder. An engine that does
 * not answer fails a limit change with `engine_unreachable`.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QBittorrent } from '@ctrl/qbittorrent';
import { isChillyError } from '../../src/domain/errors.js';
import type { Job, JobPeer } from '../../src/domain/job.js';
import { QBittorrentAdapter } from '../../src/downloaders/qbittorrent/qbittorrent-adapter.js';
import type { EngineAdapter } from '../../src/downloaders/remote/engine-adapter.js';
import { RemoteEngineDownloader } from '../../src/downloaders/remote/remote-engine-downloader.js';
import { TransmissionAdapter } from '../../src/downloaders/transmission/transmission-adapter.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { findQBittorrentNox, QBITTORRENT_NOX_MISSING, startQBittorrentDaemon } from '../helpers/qbittorrent-daemon.js';
import {
  feedFromSeeder,
  findTransmissionDaemon,
  startTransmissionDaemon,
  TRANSMISSION_MISSING,
} from '../helpers/transmission-daemon.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Room for Transmission's 10 s rechoke (twice), the transfer, and a slow machine. */
const TRANSFER_TIMEOUT_MS = 60_000;

interface Daemon {
  url: string;
  username: string;
  password: string;
  peerAddress?: string;
  stop(): Promise<void>;
  log(): string;
}

/** Limits as the engine reports them, in bytes per second (0: none). */
interface EngineLimits {
  download: number;
  upload: number;
}

interface EngineUnderTest {
  kind: 'qbittorrent' | 'transmission';
  missing: () => Promise<string | false>;
  start(workDir: string): Promise<Daemon>;
  adapter(url: string, daemon: Daemon): EngineAdapter;
  /** The limits the engine applies, read with its own API: global ones, or one torrent's. */
  readLimits(daemon: Daemon, infoHash?: string): Promise<EngineLimits>;
  /** What a limit of `bytes` reads back as (the engine's unit and rounding). */
  expected(bytes: number, global: boolean): number;
}

/** One Transmission RPC call with the session-id handshake. */
async function transmissionCall(daemon: Daemon, method: string, args: unknown): Promise<Record<string, unknown>> {
  const auth = `Basic ${Buffer.from(`${daemon.username}:${daemon.password}`).toString('base64')}`;
  let session = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fetch(daemon.url, {
      method: 'POST',
      headers: { authorization: auth, 'x-transmission-session-id': session, 'content-type': 'application/json' },
      body: JSON.stringify({ method, arguments: args }),
    });
    if (response.status === 409) {
      session = response.headers.get('x-transmission-session-id') ?? '';
      await response.body?.cancel();
      continue;
    }
    const data = (await response.json()) as { result: string; arguments: Record<string, unknown> };
    assert.equal(data.result, 'success', `${method}: ${JSON.stringify(data)}`);
    return data.arguments;
  }
  throw new Error('Transmission kept answering 409');
}

/**
 * One client per qBittorrent daemon for reading what the adapter set (it signs in once, on its first
 * request). Every sign-in opens a WebUI session, and each session start runs the free-disk-space
 * check that can crash 4.5.x (src/downloaders/qbittorrent/qbittorrent-version.ts).
 */
const qbittorrentReaders = new WeakMap<Daemon, QBittorrent>();
function qbittorrentReader(daemon: Daemon): QBittorrent {
  let client = qbittorrentReaders.get(daemon);
  if (client === undefined) {
    client = new QBittorrent({ baseUrl: daemon.url, username: daemon.username, password: daemon.password });
    qbittorrentReaders.set(daemon, client);
  }
  return client;
}

const ENGINES: EngineUnderTest[] = [
  {
    kind: 'qbittorrent',
    missing: async () => ((await findQBittorrentNox()) === null ? QBITTORRENT_NOX_MISSING : false),
    start: (workDir) => startQBittorrentDaemon({ workDir }),
    adapter: (url, daemon) => new QBittorrentAdapter({ url, username: daemon.username, password: daemon.password }),
    readLimits: async (daemon, infoHash) => {
      const client = qbittorrentReader(daemon);
      if (infoHash === undefined) {
        const prefs = await client.getPreferences();
        return { download: prefs.dl_limit, upload: prefs.up_limit };
      }
      const download = (await client.getTorrentDownloadLimit(infoHash))[infoHash] ?? Number.NaN;
      const upload = (await client.getTorrentUploadLimit(infoHash))[infoHash] ?? Number.NaN;
      // No limit reads as 0 (or -1 in some versions).
      return { download: Math.max(0, download), upload: Math.max(0, upload) };
    },
    // Global limits are kept in whole KiB/s, a torrent's to the byte.
    expected: (bytes, global) => (global ? Math.floor(bytes / KiB) * KiB : bytes),
  },
  {
    kind: 'transmission',
    missing: async () => ((await findTransmissionDaemon()) === null ? TRANSMISSION_MISSING : false),
    start: (workDir) => startTransmissionDaemon({ workDir }),
    adapter: (url, daemon) => new TransmissionAdapter({ url, username: daemon.username, password: daemon.password }),
    readLimits: async (daemon, infoHash) => {
      if (infoHash === undefined) {
        const session = await transmissionCall(daemon, 'session-get', {});
        const units = session.units as { 'speed-bytes': number };
        const unit = units['speed-bytes'];
        return {
          download: session['speed-limit-down-enabled'] === true ? Number(session['speed-limit-down']) * unit : 0,
          upload: session['speed-limit-up-enabled'] === true ? Number(session['speed-limit-up']) * unit : 0,
        };
      }
      const answer = await transmissionCall(daemon, 'torrent-get', {
        ids: [infoHash],
        fields: ['downloadLimit', 'downloadLimited', 'uploadLimit', 'uploadLimited'],
      });
      const [torrent] = answer.torrents as Array<Record<string, unknown>>;
      assert.ok(torrent, 'the torrent is in Transmission');
      return {
        download: torrent.downloadLimited === true ? Number(torrent.downloadLimit) * 1000 : 0,
        upload: torrent.uploadLimited === true ? Number(torrent.uploadLimit) * 1000 : 0,
      };
    },
    // Whole kB/s (1000 bytes, the daemon's default unit).
    expected: (bytes) => Math.round(bytes / 1000) * 1000,
  },
];

for (const engine of ENGINES) {
  const missing = await engine.missing();
  describe(`everyday controls on ${engine.kind}`, { skip: missing }, () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let daemon: Daemon;
    let downloader: RemoteEngineDownloader;
    const warnings: string[] = [];
    const swarms: LoopbackSwarm[] = [];
    const feeding = new Map<LoopbackSwarm, () => void>();
    let swarmCount = 0;

    before(async () => {
      work = await tempDir(`chilly-controls-${engine.kind}-`);
      daemon = await engine.start(path.join(work.dir, 'daemon'));
      downloader = new RemoteEngineDownloader({
        adapter: engine.adapter(daemon.url, daemon),
        pollIntervalMs: 200,
        onWarning: (message) => warnings.push(message),
      });
      await downloader.connect();
    });
    after(async () => {
      for (const stop of feeding.values()) stop();
      await downloader?.destroy();
      await daemon?.stop();
      for (const swarm of swarms) await swarm.close();
      await work?.cleanup();
    });

    async function swarm(options: Parameters<typeof createLoopbackSwarm>[0]): Promise<LoopbackSwarm> {
      swarmCount += 1;
      const created = await createLoopbackSwarm({ workDir: path.join(work.dir, `swarm-${swarmCount}`), ...options });
      swarms.push(created);
      if (daemon.peerAddress !== undefined && created.seederTorrent !== undefined) {
        feeding.set(created, feedFromSeeder(created.seederTorrent, { peerAddress: daemon.peerAddress }));
      }
      return created;
    }

    /**
     * A swarm the engine no longer holds: its seeder stops dialing the daemon (Transmission, dialed
     * every second for a torrent it removed, took over a minute to start the next one), and it closes.
     */
    async function retire(film: LoopbackSwarm): Promise<void> {
      feeding.get(film)?.();
      feeding.delete(film);
      swarms.splice(swarms.indexOf(film), 1);
      await film.close();
    }

    function explain(error: unknown): Error {
      return new Error(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n--- warnings ---\n${warnings.join('\n')}\n--- ${engine.kind} ---\n${daemon.log().slice(-3000)}`,
      );
    }

    function job(id: string): Job {
      const found = downloader.get(id);
      assert.ok(found, `job ${id} is attached`);
      return found;
    }

    test('per-job and global speed limits are the engine’s own', async () => {
      try {
        assert.equal(downloader.capabilities.rateLimits, true);
        const film = await swarm({ name: 'Limits.mkv', files: [{ path: 'Limits.mkv', size: 256 * KiB }] });
        await downloader.start({ id: 'limits', sourceType: 'torrent', torrentFile: film.torrentFile });

        const perJob = { downloadBytesPerSecond: 200 * KiB, uploadBytesPerSecond: 50 * KiB };
        await downloader.setJobRateLimits('limits', perJob);
        assert.deepEqual(await engine.readLimits(daemon, film.infoHash), {
          download: engine.expected(perJob.downloadBytesPerSecond, false),
          upload: engine.expected(perJob.uploadBytesPerSecond, false),
        });
        await downloader.setJobRateLimits('limits', { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 });
        assert.deepEqual(await engine.readLimits(daemon, film.infoHash), { download: 0, upload: 0 });

        const global = { downloadBytesPerSecond: 1000 * KiB, uploadBytesPerSecond: 300 * KiB };
        await downloader.setRateLimits(global);
        assert.deepEqual(await engine.readLimits(daemon), {
          download: engine.expected(global.downloadBytesPerSecond, true),
          upload: engine.expected(global.uploadBytesPerSecond, true),
        });
        await downloader.setRateLimits({ downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 });
        assert.deepEqual(await engine.readLimits(daemon), { download: 0, upload: 0 });
        await downloader.cancel('limits');
        await retire(film);
      } catch (error) {
        throw explain(error);
      }
    });

    test('an engine that does not answer fails a limit change with engine_unreachable', async () => {
      const port = await freeLoopbackPort();
      const url =
        engine.kind === 'qbittorrent' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/transmission/rpc`;
      const gone = new RemoteEngineDownloader({ adapter: engine.adapter(url, daemon), onWarning: () => undefined });
      try {
        await assert.rejects(
          gone.setRateLimits({ downloadBytesPerSecond: 100 * KiB, uploadBytesPerSecond: 0 }),
          (error) => isChillyError(error, 'engine_unreachable'),
        );
      } finally {
        await gone.destroy();
      }
    });

    test('a running torrent lists the seeder among its peers; a damaged completed one is rechecked and completes again', async () => {
      try {
        assert.equal(downloader.capabilities.peerList, true);
        assert.equal(downloader.capabilities.recheck, true);
        // A slow seeder keeps the download (and its connection) going while the peers are read.
        const film = await swarm({
          name: 'Recheck.mkv',
          files: [{ path: 'Recheck.mkv', size: 2 * MiB }],
          pieceLength: 64 * KiB,
          uploadLimit: 256 * KiB,
        });
        const completions: Job[] = [];
        const statuses = new Set<string>();
        downloader.on('completed', (done) => {
          if (done.id === 'recheck') completions.push(done);
        });
        downloader.on('progress', (moving) => {
          if (moving.id === 'recheck') statuses.add(moving.status);
        });
        await downloader.start({ id: 'recheck', sourceType: 'torrent', torrentFile: film.torrentFile });

        // The engine lists a peer as soon as it connects, before its handshake and what it has have
        // arrived (client "unknown", progress 0): the seeder is found once it has said it has everything.
        let seeder: JobPeer | undefined;
        await waitUntil(
          () => {
            seeder = (downloader.peers('recheck') ?? []).find(
              (peer) => peer.address.startsWith('127.0.0.1:') && peer.progress > 0.99,
            );
            return seeder !== undefined;
          },
          { timeoutMs: TRANSFER_TIMEOUT_MS, intervalMs: 250, what: 'the seeder in the peer list, with everything' },
        );
        assert.ok(seeder);
        assert.match(seeder.address, /^127\.0\.0\.1:\d+$/);
        assert.equal(typeof seeder.client, 'string');
        assert.equal(downloader.peers('nobody'), undefined);

        await waitUntil(() => completions.length === 1, { timeoutMs: TRANSFER_TIMEOUT_MS, what: 'completed' });
        const done = job('recheck');
        const file = path.join(done.savePath ?? '', 'Recheck.mkv');
        assert.equal(await sha256File(file), film.files[0]?.sha256);

        // Damage one piece in the middle of the file, behind the engine's back.
        const handle = await open(file, 'r+');
        try {
          await handle.write(Buffer.alloc(4 * KiB, 0xa5), 0, 4 * KiB, MiB + 1000);
        } finally {
          await handle.close();
        }
        statuses.clear();
        await downloader.recheck('recheck');
        assert.equal(job('recheck').status, 'verifying');
        await waitUntil(() => completions.length === 2, {
          timeoutMs: TRANSFER_TIMEOUT_MS,
          what: 'completed again after the recheck',
        });
        // The engine found the bad piece (its progress fell below 1) and fetched it again.
        assert.ok(
          statuses.has('downloading') || statuses.has('stalled'),
          `the engine downloaded again: ${[...statuses].join(', ')}`,
        );
        assert.equal(await sha256File(file), film.files[0]?.sha256, 'the damaged piece was downloaded again');
        assert.equal(job('recheck').status, 'completed');
        await downloader.cancel('recheck');
      } catch (error) {
        throw explain(error);
      }
    });
  });
}
