/**
 * Issue 15: Chilly on the engines users already run. The built `chilly serve` with
 * CHILLY_ENGINE=qbittorrent or transmission drives a real qbittorrent-nox / transmission-daemon
 * (started by the test on loopback, every public-network feature off), fed by a loopback tracker
 * and seeder: add → completed byte for byte; pause → the engine reports paused and no bytes move;
 * the daemon killed and restarted mid-download → the job recovers; Chilly killed (SIGKILL) and
 * restarted → the same job, attached to the same torrent, nothing re-added or re-downloaded;
 * cancel with delete → the engine's files are gone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../src/domain/job.js';
import { QBittorrentAdapter } from '../../src/downloaders/qbittorrent/qbittorrent-adapter.js';
import type { EngineAdapter, EngineTorrent } from '../../src/downloaders/remote/engine-adapter.js';
import { TransmissionAdapter } from '../../src/downloaders/transmission/transmission-adapter.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, type RunningCli, startChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { findQBittorrentNox, QBITTORRENT_NOX_MISSING, startQBittorrentDaemon } from '../helpers/qbittorrent-daemon.js';
import {
  feedFromSeeder,
  findTransmissionDaemon,
  startTransmissionDaemon,
  TRANSMISSION_MISSING,
} from '../helpers/transmission-daemon.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TOKEN = 'external-engine-test-token';

/** What the test needs of a daemon, whichever it is. */
interface Daemon {
  url: string;
  username: string;
  password: string;
  downloadDir: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

interface EngineUnderTest {
  kind: 'qbittorrent' | 'transmission';
  missing: () => Promise<string | false>;
  start(workDir: string): Promise<Daemon>;
  adapter(daemon: Daemon): EngineAdapter;
  /** Gets the seeder's data to the daemon (Transmission never dials a loopback peer itself). */
  feed(swarm: LoopbackSwarm, daemon: Daemon): () => void;
  env(daemon: Daemon): Record<string, string>;
}

const ENGINES: EngineUnderTest[] = [
  {
    kind: 'qbittorrent',
    missing: async () => ((await findQBittorrentNox()) === null ? QBITTORRENT_NOX_MISSING : false),
    start: (workDir) => startQBittorrentDaemon({ workDir }),
    adapter: (daemon) =>
      new QBittorrentAdapter({ url: daemon.url, username: daemon.username, password: daemon.password }),
    feed: () => () => undefined,
    env: (daemon) => ({
      CHILLY_QBITTORRENT_URL: daemon.url,
      CHILLY_QBITTORRENT_USERNAME: daemon.username,
      CHILLY_QBITTORRENT_PASSWORD: daemon.password,
    }),
  },
  {
    kind: 'transmission',
    missing: async () => ((await findTransmissionDaemon()) === null ? TRANSMISSION_MISSING : false),
    start: (workDir) => startTransmissionDaemon({ workDir }),
    adapter: (daemon) =>
      new TransmissionAdapter({ url: daemon.url, username: daemon.username, password: daemon.password }),
    feed: (swarm, daemon) => {
      if (swarm.seederTorrent === undefined) throw new Error('the swarm has no seeder');
      return feedFromSeeder(swarm.seederTorrent, daemon as Daemon & { peerAddress: string });
    },
    env: (daemon) => ({
      CHILLY_TRANSMISSION_URL: daemon.url,
      CHILLY_TRANSMISSION_USERNAME: daemon.username,
      CHILLY_TRANSMISSION_PASSWORD: daemon.password,
    }),
  },
];

for (const engine of ENGINES) {
  const missing = await engine.missing();
  describe(`chilly serve on ${engine.kind}`, { skip: missing }, () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let daemon: Daemon;
    let probe: EngineAdapter;
    let server: RunningCli | undefined;
    let baseUrl = '';
    let env: Record<string, string>;
    const swarms: LoopbackSwarm[] = [];
    const stopFeeding: (() => void)[] = [];
    let swarmCount = 0;

    before(async () => {
      ensureCliBuilt();
      work = await tempDir(`chilly-${engine.kind}-`);
      daemon = await engine.start(path.join(work.dir, 'daemon'));
      probe = engine.adapter(daemon);
      const port = await freeLoopbackPort();
      baseUrl = `http://127.0.0.1:${port}`;
      env = isolatedEnv(path.join(work.dir, 'home'), {
        CHILLY_DATA_DIR: path.join(work.dir, 'data'),
        CHILLY_PORT: String(port),
        CHILLY_TOKEN: TOKEN,
        CHILLY_ENGINE: engine.kind,
        ...engine.env(daemon),
      });
    });
    after(async () => {
      for (const stop of stopFeeding) stop();
      killAllCli();
      await probe?.close();
      await daemon?.stop();
      for (const swarm of swarms) await swarm.close();
      await work?.cleanup();
    });

    async function serve(): Promise<void> {
      server = startChilly(['serve'], { env, cwd: work.dir });
      await server.waitForOutput(/listening|http:\/\/127\.0\.0\.1/i, 30_000);
      await waitUntil(async () => (await fetch(`${baseUrl}/health`).catch(() => undefined))?.ok === true, {
        what: 'the server',
      });
    }

    async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
      const response = await fetch(`${baseUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    }

    async function job(id: string): Promise<Job> {
      const answer = await call('GET', `/download/status/${id}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body as Job;
    }

    async function engineTorrent(infoHash: string): Promise<EngineTorrent | undefined> {
      probe.resetSync();
      const sync = await probe.sync();
      return sync.torrents.find((torrent) => torrent.infoHash === infoHash);
    }

    /** A swarm the engine no longer holds: its seeder stops dialing the daemon, and it closes. */
    async function retire(film: LoopbackSwarm): Promise<void> {
      const index = swarms.indexOf(film);
      if (index === -1) return;
      stopFeeding.splice(index, 1)[0]?.();
      swarms.splice(index, 1);
      await film.close();
    }

    async function swarm(options: Parameters<typeof createLoopbackSwarm>[0]): Promise<LoopbackSwarm> {
      swarmCount += 1;
      const created = await createLoopbackSwarm({ workDir: path.join(work.dir, `swarm-${swarmCount}`), ...options });
      swarms.push(created);
      stopFeeding.push(engine.feed(created, daemon));
      return created;
    }

    function explain(error: unknown): Error {
      return new Error(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n--- chilly ---\n${server?.stderr().slice(-3000)}\n--- ${engine.kind} ---\n${daemon.log().slice(-3000)}`,
      );
    }

    test('add → completed byte for byte in the engine; cancel with delete removes its files there', async () => {
      try {
        await serve();
        const film = await swarm({
          name: 'Sherlock.Jr.1924',
          files: [
            { path: 'Sherlock.Jr.1924.mkv', size: 3 * MiB + 123 },
            { path: 'Subs/English.srt', size: 20 * KiB },
          ],
        });
        const added = await call('POST', '/download/start', { sourceType: 'torrent', sourceUrn: film.magnetURI });
        assert.equal(added.status, 201, JSON.stringify(added.body));
        const id = (added.body as Job).id;
        assert.equal((added.body as Job).savePath, path.join(daemon.downloadDir, id));
        await waitUntil(async () => (await job(id)).status === 'completed', { timeoutMs: 90_000, what: 'completed' });
        const done = await job(id);
        assert.deepEqual(done.files?.map((file) => file.path).sort(), film.files.map((file) => file.path).sort());
        for (const file of film.files) {
          assert.equal(await sha256File(path.join(done.savePath ?? '', file.path)), file.sha256, file.path);
        }
        // The everyday controls through the API reach the engine's own: a recheck keeps the job in
        // the engine and completes it again; the global speed limits are the engine's.
        const rechecked = await call('POST', '/download/recheck', { id });
        assert.equal(rechecked.status, 200, JSON.stringify(rechecked.body));
        assert.equal((rechecked.body as Job).status, 'verifying');
        await waitUntil(async () => (await job(id)).status === 'completed', {
          timeoutMs: 60_000,
          what: 'completed again after the recheck',
        });
        assert.ok(await engineTorrent(film.infoHash), 'the torrent stayed in the engine');
        const limited = await call('PUT', '/settings/limits', {
          downloadBytesPerSecond: 500 * KiB,
          uploadBytesPerSecond: 0,
        });
        assert.equal(limited.status, 200, JSON.stringify(limited.body));
        assert.deepEqual(limited.body, { downloadBytesPerSecond: 500 * KiB, uploadBytesPerSecond: 0 });
        const unlimited = await call('PUT', '/settings/limits', { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 });
        assert.equal(unlimited.status, 200, JSON.stringify(unlimited.body));
        const cancelled = await call('POST', '/download/cancel', { id, keepData: false });
        assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
        await waitUntil(() => !existsSync(path.join(done.savePath ?? '', film.files[0]?.path ?? '')), {
          timeoutMs: 10_000,
          what: 'the files deleted by the engine',
        });
        assert.equal(await engineTorrent(film.infoHash), undefined, 'the torrent is gone from the engine');
        await retire(film);
      } catch (error) {
        throw explain(error);
      }
    });

    test('pause holds in the engine; the daemon killed and restarted, then Chilly killed and restarted: the job carries on, never re-added', async () => {
      try {
        if (server === undefined) await serve();
        const film = await swarm({
          name: 'The.Navigator.1924.mkv',
          files: [{ path: 'The.Navigator.1924.mkv', size: 6 * MiB }],
          pieceLength: 32 * KiB,
          uploadLimit: 384 * KiB,
        });
        const added = await call('POST', '/download/start', { sourceType: 'torrent', sourceUrn: film.magnetURI });
        assert.equal(added.status, 201, JSON.stringify(added.body));
        const id = (added.body as Job).id;
        await waitUntil(async () => (await job(id)).progress.bytesDone > 256 * KiB, {
          timeoutMs: 60_000,
          what: 'data arriving',
        });

        // Pause: the engine says paused, and nothing moves there.
        assert.equal((await call('POST', '/download/pause', { id })).status, 200);
        await waitUntil(async () => (await engineTorrent(film.infoHash))?.status === 'paused', {
          timeoutMs: 10_000,
          what: 'the engine to report paused',
        });
        await sleep(2_000);
        const held = (await engineTorrent(film.infoHash))?.bytesDone;
        await sleep(3_000);
        assert.equal((await engineTorrent(film.infoHash))?.bytesDone, held, 'no bytes move while paused');
        assert.equal((await call('POST', '/download/resume', { id })).status, 200);
        await waitUntil(async () => ((await engineTorrent(film.infoHash))?.bytesDone ?? 0) > (held ?? 0), {
          // Transmission sends "interested" only at its 10 s rechoke, and takes the seeder's next dial
          // (tests/helpers/transmission-daemon.ts feedFromSeeder): seconds here, under load more.
          timeoutMs: 120_000,
          what: 'data moving again after resume',
        });

        // The daemon dies mid-download: the job says so, and recovers once it is back.
        await daemon.kill();
        await waitUntil(async () => (await job(id)).error?.code === 'engine_unreachable', {
          timeoutMs: 20_000,
          what: 'engine_unreachable',
        });
        await daemon.restart();
        await waitUntil(async () => (await job(id)).error === undefined, { timeoutMs: 60_000, what: 'recovery' });

        // Chilly dies (SIGKILL) mid-download and starts again: the same job, the same torrent.
        const before = (await engineTorrent(film.infoHash))?.bytesDone ?? 0;
        server?.kill();
        await server?.exited(10_000);
        await serve();
        const list = (await call('GET', '/downloads')).body as { jobs: Job[] };
        assert.deepEqual(
          list.jobs.map((listed) => listed.id),
          [id],
        );
        probe.resetSync();
        const inEngine = (await probe.sync()).torrents.filter((torrent) => torrent.infoHash === film.infoHash);
        assert.equal(inEngine.length, 1, 'one torrent in the engine');
        assert.ok((inEngine[0]?.bytesDone ?? 0) >= before, 'nothing downloaded again');
        await waitUntil(async () => (await job(id)).status === 'completed', { timeoutMs: 120_000, what: 'completed' });
        const done = await job(id);
        assert.equal(
          await sha256File(path.join(done.savePath ?? '', film.files[0]?.path ?? '')),
          film.files[0]?.sha256,
        );
      } catch (error) {
        throw explain(error);
      }
    });

    test('chilly doctor names the engine and its folder; the media folder is for direct downloads only', async () => {
      try {
        if (server === undefined) await serve();
        const doctor = await startChilly(['doctor'], { env, cwd: work.dir }).exited(30_000);
        assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
        assert.match(
          doctor.stdout,
          new RegExp(`^✓ engine \\(${probe.engineName}\\): ${probe.engineName} .* saves to `, 'm'),
        );
        assert.match(
          doctor.stdout,
          /^✓ disk space: .* free for direct downloads \(torrents: the engine's own folder\)$/m,
        );
      } catch (error) {
        throw explain(error);
      }
    });

    test('wrong credentials: `chilly serve` refuses to start and says which settings to check', async () => {
      server?.kill();
      await server?.exited(10_000);
      server = undefined;
      const wrong = startChilly(['serve'], {
        env: {
          ...env,
          [engine.kind === 'qbittorrent' ? 'CHILLY_QBITTORRENT_PASSWORD' : 'CHILLY_TRANSMISSION_PASSWORD']: 'not-it',
        },
        cwd: work.dir,
      });
      const result = await wrong.exited(30_000);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /refused the user name or password/);
      assert.match(
        result.stderr,
        engine.kind === 'qbittorrent' ? /CHILLY_QBITTORRENT_PASSWORD/ : /CHILLY_TRANSMISSION_PASSWORD/,
      );
      assert.doesNotMatch(result.stderr + result.stdout, /not-it/);
    });
  });
}
