/**
 * A page of jobs (the list the API and CLI show) is read in one go, raw and without the .torrent:
 * every other field must come out exactly as a single read gives it. Queue ranks for the whole
 * queue come from one query and must agree with the per-job count. The per-page reads of limits
 * and movie links must agree with the per-job ones.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import { toSummary } from '../../src/metadata/metadata-fetcher.js';
import { MOCK_MOVIES } from '../../src/metadata/mock-metadata-fetcher.js';
import { parseReleaseName } from '../../src/metadata/release-name.js';
import { jobMovieLookup, jobMoviesLookup } from '../../src/service/movie-linker.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { JobMovesRepository } from '../../src/storage/job-moves-repository.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { MovieLinksRepository } from '../../src/storage/movie-links-repository.js';
import { JobRateLimitsRepository } from '../../src/storage/rate-limits-repository.js';
import { tempDir } from '../helpers/wait.js';

describe('JobsRepository pages', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let db: SqliteDatabase;
  let jobs: JobsRepository;

  beforeEach(async () => {
    work = await tempDir('chilly-jobs-page-');
    db = openDatabase(path.join(work.dir, 'chilly.db'));
    jobs = new JobsRepository(db);
  });
  afterEach(async () => {
    db.close();
    await work.cleanup();
  });

  function job(n: number, status: Job['status']): Job {
    const progress = emptyProgress();
    progress.bytesTotal = 1000 + n;
    return {
      id: `job-${n}`,
      sourceType: 'torrent',
      sourceUrn: `magnet:?xt=urn:btih:${n.toString(16).padStart(40, '0')}`,
      infoHash: n.toString(16).padStart(40, '0'),
      name: `Film ${n} (19${String(n).padStart(2, '0')})`,
      status,
      savePath: path.join(work.dir, 'media', `job-${n}`),
      files: [{ path: `Film.${n}.mkv`, length: 1000 + n }],
      progress,
      sequential: false,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
      updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    };
  }

  test('every field of a listed job is as a single read gives it, but the .torrent', () => {
    const statuses: Job['status'][] = ['queued', 'downloading', 'paused', 'completed', 'error', 'queued'];
    statuses.forEach((status, n) => {
      jobs.insert(job(n, status), Uint8Array.from([n, 1, 2, 3]), { folderCreated: n % 2 === 0 });
    });
    // Every column set to something other than its default somewhere.
    jobs.setProgress('job-1', { bytesDone: 500, bytesTotal: 1001, bytesUploaded: 42 });
    jobs.setStatus(
      'job-4',
      'error',
      { code: 'download_failed', message: 'the engine said no' },
      '2026-01-02T00:00:00.000Z',
    );
    jobs.setStatus('job-3', 'completed', undefined, '2026-01-03T00:00:00.000Z');
    jobs.setFileOptions('job-2', { selectedFiles: [0], sequential: true });
    jobs.setFootprint('job-0', { folderCreated: true, created: ['Film.0.mkv'] });

    const page = jobs.page([], 50, 0);
    assert.equal(page.total, statuses.length);
    assert.deepEqual(
      page.jobs.map((stored) => stored.job.id),
      ['job-5', 'job-4', 'job-3', 'job-2', 'job-1', 'job-0'],
      'newest first',
    );
    for (const listed of page.jobs) {
      const single = jobs.require(listed.job.id);
      assert.ok(single.torrentFile, 'a single read has the .torrent');
      assert.equal(listed.torrentFile, undefined, 'a page leaves it out');
      assert.deepEqual(listed, { ...single, torrentFile: undefined });
    }
    assert.deepEqual(
      jobs.page(['queued'], 1, 1).jobs.map((stored) => stored.job.id),
      ['job-0'],
      'filtered, limited and offset',
    );
  });

  test('a page read again shows every write since, here or on another connection, and nothing rolled back', () => {
    for (let n = 0; n < 6; n++) jobs.insert(job(n, 'queued'), undefined, { folderCreated: false });
    const moves = new JobMovesRepository(db, jobs);
    /** The page must be what a single read of each listed job gives, in the page's order. */
    const agrees = (label: string) => {
      const page = jobs.page([], 50, 0);
      const expected = jobs
        .all()
        .sort((a, b) => b.job.createdAt.localeCompare(a.job.createdAt) || b.position - a.position)
        .map((stored) => ({ ...stored, torrentFile: undefined }));
      assert.deepEqual(page.jobs, expected, label);
      assert.equal(page.total, expected.length, label);
    };
    agrees('first read');
    const again = jobs.page([], 50, 0);
    assert.equal(again.jobs[0], jobs.page([], 50, 0).jobs[0], 'nothing written: the same job as last read');
    assert.ok(Object.isFrozen(again.jobs[0]?.job.progress), 'a job shared between pages cannot be changed');
    const writes: [string, () => void][] = [
      ['progress', () => jobs.setProgress('job-1', { bytesDone: 500, bytesTotal: 1001, bytesUploaded: 42 })],
      ['status', () => jobs.setStatus('job-2', 'completed', undefined, '2026-01-03T00:00:00.000Z')],
      [
        'error',
        () => jobs.setStatus('job-3', 'error', { code: 'download_failed', message: 'no' }, '2026-01-04T00:00:00.000Z'),
      ],
      [
        'metadata',
        () => jobs.setMetadata('job-0', { name: 'Renamed', files: [{ path: 'b.mkv', length: 7 }], bytesTotal: 7 }),
      ],
      ['file options', () => jobs.setFileOptions('job-4', { selectedFiles: [0], sequential: true })],
      ['footprint', () => jobs.setFootprint('job-5', { folderCreated: true, created: ['Film.5.mkv'] })],
      ['data forgotten', () => jobs.forgetData('job-1')],
      ['moved in the queue', () => jobs.moveInQueue('job-4', 'top')],
      ['moved to another folder', () => moves.markMoved('job-5', path.join(work.dir, 'elsewhere'))],
      ['inserted', () => jobs.insert(job(6, 'queued'), undefined, { folderCreated: false })],
      ['deleted', () => jobs.delete('job-0')],
      [
        'another connection',
        () => {
          const other = openDatabase(path.join(work.dir, 'chilly.db'));
          try {
            other.prepare("UPDATE jobs SET name = 'Theirs', bytes_done = 9 WHERE id = 'job-4'").run();
          } finally {
            other.close();
          }
        },
      ],
      [
        'rolled back',
        () => {
          const failing = db.transaction(() => {
            jobs.setProgress('job-6', { bytesDone: 77, bytesTotal: 1006, bytesUploaded: 0 });
            assert.equal(jobs.page([], 50, 0).jobs[0]?.job.progress.bytesDone, 77, 'seen inside its transaction');
            throw new Error('roll back');
          });
          assert.throws(failing, /roll back/);
        },
      ],
    ];
    for (const [label, write] of writes) {
      write();
      agrees(`after: ${label}`);
    }
  });

  test('queue ranks for the whole queue agree with each job’s own count', () => {
    for (let n = 0; n < 12; n++)
      jobs.insert(job(n, n % 3 === 0 ? 'paused' : 'queued'), undefined, { folderCreated: false });
    jobs.moveInQueue('job-10', 'top');
    jobs.moveInQueue('job-1', 'bottom');
    const ranks = jobs.queueRanks();
    const queued = jobs.all().filter((stored) => stored.job.status === 'queued');
    assert.equal(ranks.size, queued.length);
    for (const stored of queued)
      assert.equal(ranks.get(stored.job.id), jobs.queuePosition(stored.position), stored.job.id);
    assert.equal(ranks.get('job-10'), 1);
    assert.equal(ranks.get('job-1'), queued.length);
    assert.equal(ranks.get('job-0'), undefined, 'a paused job has no rank');
  });

  test('queue ranks are read again after every write that changes the queue, here or on another connection', () => {
    for (let n = 0; n < 5; n++) jobs.insert(job(n, 'queued'), undefined, { folderCreated: false });
    const order = () => [...jobs.queueRanks()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    assert.deepEqual(order(), ['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    assert.equal(jobs.queueRanks(), jobs.queueRanks(), 'no write: the same read');
    jobs.moveInQueue('job-3', 'top');
    assert.deepEqual(order(), ['job-3', 'job-0', 'job-1', 'job-2', 'job-4']);
    jobs.setStatus('job-0', 'downloading', undefined, new Date().toISOString());
    assert.deepEqual(order(), ['job-3', 'job-1', 'job-2', 'job-4']);
    jobs.insert(job(5, 'queued'), undefined, { folderCreated: false });
    jobs.delete('job-1');
    assert.deepEqual(order(), ['job-3', 'job-2', 'job-4', 'job-5']);
    const other = openDatabase(path.join(work.dir, 'chilly.db'));
    try {
      other.prepare("UPDATE jobs SET status = 'paused' WHERE id = 'job-2'").run();
    } finally {
      other.close();
    }
    assert.deepEqual(order(), ['job-3', 'job-4', 'job-5']);
  });

  test('limits and movie links of a page in one read agree with the per-job reads', () => {
    for (let n = 0; n < 5; n++) jobs.insert(job(n, 'queued'), undefined, { folderCreated: false });
    const limits = new JobRateLimitsRepository(db);
    limits.set('job-1', { downloadBytesPerSecond: 2048, uploadBytesPerSecond: 0 });
    limits.set('job-3', { downloadBytesPerSecond: 0, uploadBytesPerSecond: 512 });
    const ids = ['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'no-such-job', 'it\'s "quoted"'];
    const many = limits.getMany(ids);
    assert.deepEqual([...many.keys()].sort(), ['job-1', 'job-3']);
    for (const id of ids) assert.deepEqual(many.get(id), limits.get(id), id);
    assert.equal(limits.getMany([]).size, 0);

    const links = new MovieLinksRepository(db);
    assert.equal(links.getMany(ids).size, 0);
    const movie = toSummary(MOCK_MOVIES[0] ?? assert.fail('mock catalogue is empty'));
    const release = parseReleaseName('The.Matrix.1999.1080p.BluRay.x264-GRP');
    const linkedAt = '2026-01-01T00:00:00.000Z';
    links.set({ jobId: 'job-2', origin: 'auto', confidence: 0.9, release, movie, linkedAt });
    links.set({ jobId: 'job-4', origin: 'user', confidence: null, release, movie: null, linkedAt });
    const linked = links.getMany(ids);
    assert.deepEqual([...linked.keys()].sort(), ['job-2', 'job-4']);
    for (const id of ids) assert.deepEqual(linked.get(id), links.get(id), id);
    const movies = jobMoviesLookup(links)(ids);
    assert.deepEqual([...movies.keys()], ['job-2'], 'a link without a movie gives none');
    for (const id of ids) assert.deepEqual(movies.get(id) ?? null, jobMovieLookup(links)(id), id);
  });
});
