import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { JobEvent } from '../../src/domain/job-event.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService, type DownloadServiceOptions } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { tempDir } from '../helpers/wait.js';

const hash = (n: number) => n.toString(16).padStart(40, '0');
const magnet = (n: number, name = `Movie ${n}`) => `magnet:?xt=urn:btih:${hash(n)}&dn=${encodeURIComponent(name)}`;
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('DownloadService', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let clock: FakeClock;
  const opened: DownloadService[] = [];

  beforeEach(async () => {
    work = await tempDir();
    clock = new FakeClock();
  });
  afterEach(async () => {
    for (const service of opened.splice(0)) await service.close();
    await work.cleanup();
  });

  /** 1000-byte jobs at 400 B/s with 250 ms ticks: 10 ticks (2.5 simulated seconds) to complete. */
  async function open(overrides: Partial<DownloadServiceOptions> = {}) {
    const downloader = new MockDownloader({
      bytesPerSecond: 400,
      totalBytes: 1000,
      clock,
      mediaRoot: path.join(work.dir, 'media'),
    });
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader,
      maxActiveDownloads: 2,
      seeding: { ratio: 0, minutes: 0 },
      now: () => clock.now(),
      ...overrides,
    });
    opened.push(service);
    const events: JobEvent[] = [];
    service.subscribe((event) => events.push(event));
    return { service, downloader, events };
  }

  function storedStatus(id: string): string | undefined {
    const db = openDatabase(path.join(work.dir, 'chilly.db'));
    try {
      return new JobsRepository(db).get(id)?.job.status;
    } finally {
      db.close();
    }
  }

  test('add starts a job, persists it, and is idempotent for the same id and source', async () => {
    const { service } = await open();
    const first = await service.add({ id: 'm1', sourceType: 'torrent', sourceUrn: magnet(1) });
    assert.equal(first.created, true);
    assert.equal(first.job.status, 'downloading');
    assert.equal(first.job.infoHash, hash(1));
    assert.equal(storedStatus('m1'), 'downloading');

    const again = await service.add({ id: 'm1', sourceType: 'torrent', sourceUrn: magnet(1) });
    assert.equal(again.created, false);
    assert.equal(service.list().total, 1);

    await assert.rejects(service.add({ id: 'm1', sourceType: 'torrent', sourceUrn: magnet(2) }), {
      code: 'duplicate_job',
    });
    await assert.rejects(service.add({ id: 'other', sourceType: 'torrent', sourceUrn: magnet(1) }), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'duplicate_torrent');
      assert.match(error.message, /"m1"/);
      return true;
    });
    await assert.rejects(service.add({ id: 'bad', sourceType: 'torrent', sourceUrn: 'magnet:?xt=urn:btih:xyz' }), {
      code: 'invalid_magnet',
    });
  });

  test('the queue runs at most maxActiveDownloads at once and starts the rest in order', async () => {
    const { service } = await open();
    for (let n = 1; n <= 4; n++) await service.add({ id: `q${n}`, sourceType: 'torrent', sourceUrn: magnet(n) });
    const statuses = () => ['q1', 'q2', 'q3', 'q4'].map((id) => service.get(id).status);
    assert.deepEqual(statuses(), ['downloading', 'downloading', 'queued', 'queued']);

    await service.pause('q1');
    assert.deepEqual(statuses(), ['paused', 'downloading', 'downloading', 'queued']);

    clock.advance(2_600);
    await flush();
    assert.deepEqual(statuses(), ['paused', 'completed', 'completed', 'downloading']);
    assert.equal(storedStatus('q2'), 'completed');
  });

  test('invalid transitions are typed errors and change nothing', async () => {
    const { service } = await open();
    await service.add({ id: 'done', sourceType: 'torrent', sourceUrn: magnet(1) });
    clock.advance(2_600);
    await flush();
    assert.equal(service.get('done').status, 'completed');
    await assert.rejects(service.resume('done'), { code: 'invalid_transition' });
    await assert.rejects(service.pause('done'), { code: 'invalid_transition' });
    assert.equal(service.get('done').status, 'completed');

    await service.add({ id: 'p', sourceType: 'torrent', sourceUrn: magnet(2) });
    await service.pause('p');
    await assert.rejects(service.pause('p'), { code: 'invalid_transition' });
    await service.cancel('p');
    await assert.rejects(service.pause('p'), { code: 'job_not_found' });
    await assert.rejects(service.resume('nope'), { code: 'job_not_found' });
  });

  test('every state change is in the database when the call returns', async () => {
    const { service } = await open();
    await service.add({ id: 's', sourceType: 'torrent', sourceUrn: magnet(1) });
    await service.pause('s');
    assert.equal(storedStatus('s'), 'paused');
    await service.resume('s');
    assert.equal(storedStatus('s'), 'downloading');
    await service.cancel('s');
    assert.equal(storedStatus('s'), undefined);
  });

  test('progress is persisted at a bounded rate, not on every event', async () => {
    const { service, events } = await open({ persistIntervalMs: 1_000 });
    await service.add({ id: 'slow', sourceType: 'torrent', sourceUrn: magnet(1) });
    const storedBytes = () => {
      const db = openDatabase(path.join(work.dir, 'chilly.db'));
      try {
        return new JobsRepository(db).get('slow')?.job.progress.bytesDone;
      } finally {
        db.close();
      }
    };
    clock.advance(500); // two ticks: 200 bytes live, nothing persisted yet
    assert.equal(service.get('slow').progress.bytesDone, 200);
    assert.equal(storedBytes(), 0);
    clock.advance(500); // one second since start: persisted
    assert.equal(storedBytes(), 400);
    clock.advance(250);
    assert.equal(storedBytes(), 400);
    assert.equal(events.filter((e) => e.type === 'progress').length, 5);
  });

  test('events are numbered and can be replayed after a given id', async () => {
    const { service, events } = await open();
    await service.add({ id: 'e', sourceType: 'torrent', sourceUrn: magnet(1) });
    clock.advance(2_600);
    await flush();
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ['added', 'started']);
    assert.ok(types.includes('progress'));
    assert.ok(types.indexOf('completed') > types.lastIndexOf('progress'));
    // One by one from this run's first id (above every id of an earlier run: see event-log.ts).
    const firstId = events[0]?.id ?? 0;
    assert.deepEqual(
      events.map((e) => e.id),
      events.map((_, i) => firstId + i),
    );
    const third = events[2];
    assert.ok(third !== undefined);
    assert.deepEqual(
      service.eventsSince(third.id)?.map((e) => e.id),
      events.slice(3).map((e) => e.id),
    );
    const lastId = events.at(-1)?.id ?? 0;
    assert.deepEqual(service.eventsSince(lastId), []);
    assert.equal(service.eventsSince(lastId + 10), undefined, 'an id not issued yet means resync');
    assert.equal(service.eventsSince(events.length), undefined, 'so does an id of an earlier run');
  });

  test('list is newest first (ties in the order added), filters and paginates; the queue still starts oldest first', async () => {
    const { service } = await open({ maxActiveDownloads: 1 });
    for (let n = 1; n <= 5; n++) {
      await service.add({ id: `l${n}`, sourceType: 'torrent', sourceUrn: magnet(n) });
      if (n !== 3) clock.advance(1); // l3 and l4 are added in the same millisecond
    }
    assert.deepEqual(
      service.list().jobs.map((j) => j.id),
      ['l5', 'l4', 'l3', 'l2', 'l1'],
    );
    const queued = service.list({ status: ['queued'], limit: 2, offset: 1 });
    assert.equal(queued.total, 4);
    assert.deepEqual(
      queued.jobs.map((j) => j.id),
      ['l4', 'l3'],
    );
    // A free slot goes to the job that has waited longest, whatever the listing order.
    await service.pause('l1');
    assert.equal(service.get('l2').status, 'downloading');
    assert.deepEqual(
      ['l3', 'l4', 'l5'].map((id) => service.get(id).status),
      ['queued', 'queued', 'queued'],
    );
    assert.throws(() => service.list({ limit: 0 }), { code: 'validation_failed' });
    assert.throws(() => service.list({ limit: 501 }), { code: 'validation_failed' });
  });

  test('restart: running jobs continue, paused stay paused, completed are kept or flagged files_missing', async () => {
    const first = await open({ maxActiveDownloads: 3 });
    for (let n = 1; n <= 4; n++) {
      await first.service.add({ id: `r${n}`, sourceType: 'torrent', sourceUrn: magnet(n, `Film ${n}`) });
    }
    clock.advance(2_600);
    await flush();
    // r1..r3 completed, r4 downloading; then pause r4 and add r5 (downloading) and r6.
    await first.service.pause('r4');
    await first.service.add({ id: 'r5', sourceType: 'torrent', sourceUrn: magnet(5) });
    // The mock writes nothing: give r1 its file at the right size, r2 a truncated one, r3 none.
    for (const [id, size] of [
      ['r1', 1000],
      ['r2', 10],
    ] as const) {
      mkdirSync(path.join(work.dir, 'media', id), { recursive: true });
      writeFileSync(path.join(work.dir, 'media', id, `Film ${id.slice(1)}.mkv`), Buffer.alloc(size));
    }
    await first.service.close();
    opened.splice(0);

    const second = await open({ maxActiveDownloads: 3 });
    const status = (id: string) => second.service.get(id).status;
    assert.equal(status('r1'), 'completed');
    assert.equal(status('r2'), 'files_missing');
    assert.equal(status('r3'), 'files_missing');
    assert.equal(second.service.get('r3').error?.code, 'files_missing');
    assert.equal(status('r4'), 'paused');
    assert.equal(status('r5'), 'downloading');
    assert.ok(second.downloader.get('r5'), 'the interrupted download was handed to the engine again');
    assert.equal(second.downloader.get('r1'), undefined, 'completed jobs are not downloaded again');
    assert.equal(second.service.list().total, 5, 'nothing lost, nothing duplicated');
    // files_missing can be downloaded again on request.
    await second.service.resume('r3');
    assert.equal(status('r3'), 'downloading');
  });

  test('seeding policy: ratio 0 stops uploading as soon as a job completes', async () => {
    const { service, downloader, events } = await open();
    await service.add({ id: 'seed', sourceType: 'torrent', sourceUrn: magnet(1) });
    clock.advance(2_600);
    await flush();
    await flush();
    assert.equal(service.get('seed').status, 'completed');
    assert.equal(downloader.get('seed'), undefined, 'the engine no longer has the job');
    assert.ok(events.some((e) => e.type === 'seeding_stopped'));
  });

  test('a driver failure puts the job in error with its code; resume retries it', async () => {
    const { service, events } = await open({
      downloader: new MockDownloader({ bytesPerSecond: 400, totalBytes: 1000, failAfterBytes: 300, clock }),
    });
    await service.add({ id: 'f', sourceType: 'torrent', sourceUrn: magnet(1) });
    clock.advance(1_000);
    await flush();
    await flush();
    assert.equal(service.get('f').status, 'error');
    assert.equal(service.get('f').error?.code, 'download_failed');
    assert.equal(storedStatus('f'), 'error');
    assert.ok(events.some((e) => e.type === 'error'));
    const resumed = await service.resume('f');
    assert.equal(resumed.status, 'downloading');
    assert.equal(resumed.error, undefined);
  });
});
