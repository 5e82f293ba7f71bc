/**
 * Issue 15: the service on an external engine (qBittorrent, Transmission) through
 * RemoteEngineDownloader, with the engine in memory (tests/helpers/fake-engine-adapter.ts); the
 * integration tests run the same paths against the real daemons. Re-attaching by info-hash after
 * a restart, an engine that goes away and comes back, a torrent removed in the engine's own UI,
 * cancel deleting on the engine's side, pause in the engine.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { EnginePathMap } from '../../src/config/engine-settings.js';
import type { ChillyError } from '../../src/domain/errors.js';
import { RemoteEngineDownloader } from '../../src/downloaders/remote/remote-engine-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { FakeEngineAdapter } from '../helpers/fake-engine-adapter.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const HASH = 'cd'.repeat(20);
const MAGNET = `magnet:?xt=urn:btih:${HASH}&dn=The.General.1926.mkv`;
const FAST = {
  pollIntervalMs: 10,
  missingForMs: 200,
  reconnect: { minDelayMs: 10, maxDelayMs: 40, jitter: 'none' as const },
};

describe('the service on an external engine', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let engine: FakeEngineAdapter;
  const open = new Set<DownloadService>();
  beforeEach(async () => {
    work = await tempDir();
    engine = new FakeEngineAdapter();
  });
  afterEach(async () => {
    for (const service of open) await service.close();
    open.clear();
    await work.cleanup();
  });

  async function start(options: { seeding?: { ratio: number; minutes: number }; pathMap?: EnginePathMap } = {}) {
    const downloader = new RemoteEngineDownloader({
      adapter: engine,
      ...FAST,
      ...(options.pathMap === undefined ? {} : { pathMap: options.pathMap }),
    });
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader,
      seeding: options.seeding ?? { ratio: 5, minutes: 60 },
    });
    open.add(service);
    return { service, downloader };
  }

  /** A job attached to its torrent in the engine, then the engine gone: the job says so. */
  async function attachedJobWithEngineDown(): Promise<DownloadService> {
    const { service } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general').files !== undefined);
    engine.down = true;
    await waitUntil(() => service.get('general').error?.code === 'engine_unreachable', { what: 'engine_unreachable' });
    return service;
  }

  test('a job is added to the engine in a folder of its own there, and follows it to completed', async () => {
    const { service, downloader } = await start();
    assert.equal(downloader.capabilities.localFiles, false, 'no path map: the files are the engine’s');
    const { job } = await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    assert.equal(job.savePath, '/downloads/general');
    await waitUntil(() => engine.torrents.has(HASH), { what: 'the torrent in the engine' });
    await waitUntil(() => service.get('general').files !== undefined, { what: 'files from the engine' });
    assert.deepEqual(service.get('general').files, [{ path: 'Film/Film.mkv', length: 1_000_000 }]);
    engine.advance(HASH, 400_000);
    await waitUntil(() => service.get('general').progress.bytesDone === 400_000, { what: 'progress' });
    engine.advance(HASH, 1_000_000);
    await waitUntil(() => service.get('general').status === 'completed', { what: 'completed' });
    assert.equal(engine.calls.filter((call) => call.startsWith('add')).length, 1);
  });

  test('after a restart the jobs re-attach to the engine’s torrents by info-hash: nothing is added again', async () => {
    const first = await start();
    await first.service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => first.service.get('general').files !== undefined);
    engine.advance(HASH, 300_000);
    await waitUntil(() => first.service.get('general').progress.bytesDone === 300_000);
    await first.service.close();
    open.delete(first.service);
    assert.ok(engine.torrents.has(HASH), 'closing Chilly leaves the torrent in the engine');
    engine.resetSync();
    engine.advance(HASH, 700_000); // the engine went on while Chilly was down

    const second = await start();
    await waitUntil(() => second.service.get('general').progress.bytesDone === 700_000, { what: 're-attached' });
    assert.equal(engine.calls.filter((call) => call.startsWith('add')).length, 1, engine.calls.join('\n'));
    assert.equal(second.service.get('general').status, 'downloading');
  });

  test('a torrent listed again with the same figures is no news: no progress event, for a download or a seeding job', async () => {
    const { service, downloader } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general').files !== undefined, { what: 'files from the engine' });
    engine.advance(HASH, 400_000);
    await waitUntil(() => service.get('general').progress.bytesDone === 400_000, { what: 'progress' });
    const progress: number[] = [];
    downloader.on('progress', (job) => progress.push(job.progress.bytesDone));
    const syncs = (): number => engine.calls.filter((call) => call === 'sync').length;
    const listedAgain = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        engine.touch(HASH);
        const before = syncs();
        await waitUntil(() => syncs() > before + 1, { what: 'the next sync' });
      }
    };
    await listedAgain();
    assert.deepEqual([...progress], [], 'downloading, nothing changed');
    engine.advance(HASH, 500_000);
    await waitUntil(() => progress.includes(500_000), { what: 'news: more bytes' });

    engine.advance(HASH, 1_000_000);
    await waitUntil(() => service.get('general').status === 'completed', { what: 'completed' });
    await listedAgain(); // the engine's seeding figures, once
    progress.length = 0;
    await listedAgain();
    assert.deepEqual([...progress], [], 'seeding, nobody downloading');
  });

  test('pause pauses in the engine and resume resumes there; cancel with delete deletes on the engine’s side', async () => {
    const { service } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => engine.torrents.has(HASH));
    await service.pause('general');
    assert.equal(engine.torrents.get(HASH)?.torrent.status, 'paused');
    await service.resume('general');
    await waitUntil(() => engine.torrents.get(HASH)?.torrent.status === 'downloading', { what: 'resumed' });
    assert.equal(engine.calls.filter((call) => call.startsWith('add')).length, 1, 'resumed, not added again');
    await service.cancel('general', { keepData: false });
    assert.ok(engine.calls.includes(`remove ${HASH} delete`), engine.calls.join('\n'));
    assert.equal(engine.torrents.has(HASH), false);
  });

  test('a paused job cancelled after a restart is removed from the engine, though no job ran it', async () => {
    const first = await start();
    await first.service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => engine.torrents.has(HASH));
    await first.service.pause('general');
    await first.service.close();
    open.delete(first.service);
    engine.resetSync();
    const second = await start();
    assert.equal(second.service.get('general').status, 'paused');
    await second.service.cancel('general', { keepData: true });
    assert.ok(engine.calls.includes(`remove ${HASH}`), engine.calls.join('\n'));
  });

  test('an engine that goes away: the job shows engine_unreachable, and carries on when it is back', async () => {
    const service = await attachedJobWithEngineDown();
    assert.equal(service.get('general').status, 'stalled');
    engine.down = false;
    engine.advance(HASH, 500_000);
    await waitUntil(() => service.get('general').progress.bytesDone === 500_000, { what: 'recovered' });
    assert.equal(service.get('general').status, 'downloading');
    assert.equal(service.get('general').error, undefined);
  });

  test('an engine down when Chilly starts is reported once, however many jobs re-attach, and once when it answers', async () => {
    const first = await start();
    const OTHER = 'ef'.repeat(20);
    await first.service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await first.service.add({ id: 'navigator', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${OTHER}` });
    await waitUntil(() => engine.torrents.size === 2, { what: 'both torrents in the engine' });
    await first.service.close();
    open.delete(first.service);

    engine.down = true;
    engine.resetSync();
    const warnings: string[] = [];
    const downloader = new RemoteEngineDownloader({ adapter: engine, ...FAST, onWarning: (m) => warnings.push(m) });
    // As the server does when it starts (src/downloaders/engine-from-config.ts).
    await assert.rejects(downloader.connect(), (error: ChillyError) => error.code === 'engine_unreachable');
    const told: string[] = [];
    downloader.on('progress', (job) => told.push(job.id));
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader,
      seeding: { ratio: 5, minutes: 60 },
    });
    open.add(service);
    const signIns = (): number => engine.calls.filter((call) => call === 'connect').length;
    const before = signIns();
    await waitUntil(() => signIns() >= before + 3, { what: 'three more sign-ins refused' });
    assert.equal(service.get('general').error?.code, 'engine_unreachable');
    assert.equal(service.get('navigator').error?.code, 'engine_unreachable');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /FakeEngine: connection refused/);
    // Each job is told once, not again for each job that re-attaches after it or each failed retry.
    assert.deepEqual(told.sort(), ['general', 'navigator']);

    engine.down = false;
    await waitUntil(() => service.get('general').error === undefined && service.get('navigator').error === undefined, {
      what: 'both jobs following the engine again',
    });
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[1] ?? '', /answers again/);
    assert.equal(engine.calls.filter((call) => call.startsWith('add')).length, 2, 'nothing added again');
  });

  test('a job added while the engine is down waits, and is added once it answers', async () => {
    const { service, downloader } = await start();
    await downloader.connect(); // as the server does when it starts
    engine.down = true;
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    assert.equal(service.get('general').error?.code, 'engine_unreachable');
    engine.down = false;
    await waitUntil(() => engine.torrents.has(HASH), { what: 'added once the engine answers' });
    await waitUntil(() => service.get('general').files !== undefined);
  });

  test('a torrent removed in the engine’s own interface ends its job with removed_externally, never re-added', async () => {
    const { service } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general').files !== undefined);
    engine.removeExternally(HASH);
    await waitUntil(() => service.get('general').status === 'error', { what: 'error' });
    assert.equal(service.get('general').error?.code, 'removed_externally');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(engine.torrents.has(HASH), false, 'not added back');
    // Resuming is the user's choice to add it again.
    await service.resume('general');
    await waitUntil(() => engine.torrents.has(HASH), { what: 'added again on resume' });
  });

  test('an engine back from a restart that lists nothing before it has loaded its torrents does not end the job', async () => {
    const service = await attachedJobWithEngineDown();
    engine.advance(HASH, 500_000); // the engine went on before it went away
    engine.emptyFullLists = 2;
    engine.down = false;
    await waitUntil(() => service.get('general').progress.bytesDone === 500_000, { what: 'carried on' });
    assert.equal(service.get('general').status, 'downloading');
    assert.equal(service.get('general').error, undefined);
    assert.equal(engine.calls.filter((call) => call.startsWith('add')).length, 1, 'attached again, not added');
  });

  test('a torrent that stays missing from the engine’s full lists ends its job with removed_externally', async () => {
    const service = await attachedJobWithEngineDown();
    engine.forget(HASH); // removed in the engine's interface while Chilly could not hear it
    engine.down = false;
    await waitUntil(() => service.get('general').status === 'error', { what: 'error' });
    assert.equal(service.get('general').error?.code, 'removed_externally');
    assert.equal(engine.torrents.has(HASH), false, 'not added back');
  });

  test('wrong credentials: adding is refused with engine_auth_failed, and nothing is kept', async () => {
    engine.wrongPassword = true;
    const { service } = await start();
    await assert.rejects(service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET }), {
      code: 'engine_auth_failed',
    });
    assert.equal(service.list().total, 0);
  });

  test('without a path map a job’s files are the engine’s: streaming is refused with the setting to use', async () => {
    const { service } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general').files !== undefined);
    engine.advance(HASH, 1_000_000);
    await waitUntil(() => service.get('general').status === 'completed');
    await assert.rejects(service.openFile('general'), (error: ChillyError) => {
      assert.equal(error.code, 'capability_unsupported');
      assert.match(error.message, /FakeEngine.*CHILLY_ENGINE_PATH_MAP/);
      return true;
    });
  });

  test('with a path map, the engine’s folder is read here: a finished film plays from the mapped folder', async () => {
    const local = path.join(work.dir, 'nas');
    engine = new FakeEngineAdapter('/srv/downloads');
    const { service } = await start({ pathMap: { remote: '/srv/downloads', local } });
    const { job } = await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    assert.equal(job.savePath, path.join(local, 'general'), 'stored as this machine sees it');
    await waitUntil(() => engine.torrents.has(HASH));
    assert.equal(engine.torrents.get(HASH)?.torrent.savePath, '/srv/downloads/general', 'the engine gets its own path');
    const film = Buffer.alloc(1_000_000, 7);
    await mkdir(path.join(local, 'general', 'Film'), { recursive: true });
    await writeFile(path.join(local, 'general', 'Film', 'Film.mkv'), film);
    engine.advance(HASH, 1_000_000);
    await waitUntil(() => service.get('general').status === 'completed');
    const file = await service.openFile('general');
    const chunks: Uint8Array[] = [];
    for await (const chunk of file.read(0, 99)) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), film.subarray(0, 100));
  });

  test('choosing files reaches the engine once it has the metadata', async () => {
    engine.filesFor = () => [
      { path: 'Film/Film.mkv', length: 900_000, bytesDone: 0, wanted: true },
      { path: 'Film/Extras.mkv', length: 100_000, bytesDone: 0, wanted: true },
    ];
    const { service } = await start();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general').files !== undefined);
    await service.setFileOptions('general', { selectedFiles: [0], sequential: false });
    await waitUntil(() => engine.calls.includes(`wanted ${HASH} 0`), { what: 'the file choice' });
    assert.ok(engine.calls.includes(`sequential ${HASH} false`));
    assert.deepEqual(
      engine.torrents.get(HASH)?.files.map((file) => file.wanted),
      [true, false],
    );
  });
});
