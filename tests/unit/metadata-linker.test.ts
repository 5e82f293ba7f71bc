/**
 * MovieLinker's decisions, on the mock fetcher (no network) and a scripted stand-in for the
 * download service, so names can change the way a magnet's `dn` gives way to the torrent's name.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ChillyError } from '../../src/domain/errors.js';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import type { JobEvent, JobEventType } from '../../src/domain/job-event.js';
import { MetadataService } from '../../src/metadata/metadata-service.js';
import { MockMetadataFetcher } from '../../src/metadata/mock-metadata-fetcher.js';
import type { ListJobsQuery } from '../../src/service/download-service-api.js';
import { libraryPage } from '../../src/service/library.js';
import { jobMovieOf, type LinkableService, MovieLinker } from '../../src/service/movie-linker.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { MovieLinksRepository } from '../../src/storage/movie-links-repository.js';

/** Jobs in memory plus the rows movie_links needs for its foreign key. */
class ScriptedService implements LinkableService {
  readonly jobs = new Map<string, Job>();
  readonly announced: string[] = [];
  readonly #listeners = new Set<(event: JobEvent) => void>();
  #eventId = 0;

  constructor(private readonly db: SqliteDatabase) {}

  put(id: string, fields: Partial<Job> = {}, type: JobEventType = 'updated'): Job {
    const now = new Date().toISOString();
    const job: Job = {
      id,
      sourceType: 'torrent',
      sourceUrn: `torrent:${id}`,
      status: 'downloading',
      progress: emptyProgress(),
      sequential: true,
      createdAt: now,
      updatedAt: now,
      ...this.jobs.get(id),
      ...fields,
    };
    if (!this.jobs.has(id)) {
      this.db
        .prepare(
          `INSERT INTO jobs (id, position, source_type, source_urn, info_hash, status, save_path, created_at, updated_at)
           VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM jobs), 'torrent', ?, ?, 'downloading', '/tmp/x', ?, ?)`,
        )
        .run(id, job.sourceUrn, id.padEnd(40, '0'), now, now);
    }
    this.jobs.set(id, job);
    this.emit(type, job);
    return job;
  }

  remove(id: string): void {
    const job = this.jobs.get(id);
    this.jobs.delete(id);
    this.db.prepare('DELETE FROM jobs WHERE id = ?').run(id);
    if (job !== undefined) this.emit('cancelled', { ...job, status: 'cancelled' });
  }

  emit(type: JobEventType, job: Job): void {
    this.#eventId += 1;
    for (const listener of this.#listeners) listener({ id: this.#eventId, type, job, at: new Date().toISOString() });
  }

  get(id: string): Job {
    const job = this.jobs.get(id);
    if (job === undefined) throw new ChillyError('job_not_found');
    return job;
  }

  list(query: ListJobsQuery = {}) {
    const all = [...this.jobs.values()].filter(
      (job) => query.status === undefined || query.status.length === 0 || query.status.includes(job.status),
    );
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 50;
    return { jobs: all.slice(offset, offset + limit), total: all.length, limit, offset };
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  announceUpdate(id: string): void {
    this.announced.push(id);
  }
}

describe('MovieLinker', () => {
  let db: SqliteDatabase;
  let links: MovieLinksRepository;
  let service: ScriptedService;
  let fetcher: MockMetadataFetcher;
  let linker: MovieLinker;
  let warnings: string[];

  const make = (options: { configured?: boolean; autoIdentify?: boolean; retryDelaysMs?: number[] } = {}) => {
    linker = new MovieLinker({
      service,
      metadata: new MetadataService({ fetcher, configured: options.configured ?? true }),
      links,
      autoIdentify: options.autoIdentify ?? true,
      retryDelaysMs: options.retryDelaysMs ?? [],
      onWarning: (message) => warnings.push(message),
      now: () => Date.UTC(2024, 0, 1),
    });
    linker.start();
    return linker;
  };
  const searches = () => fetcher.calls.filter((call) => call.method === 'searchMovies').length;

  beforeEach(() => {
    db = openDatabase(':memory:');
    links = new MovieLinksRepository(db);
    service = new ScriptedService(db);
    fetcher = new MockMetadataFetcher();
    warnings = [];
  });
  afterEach(async () => {
    await linker.close();
    db.close();
  });

  it('identifies a job once its name is known, and once only', async () => {
    make();
    service.put('a', {}, 'added');
    await linker.idle();
    assert.equal(searches(), 0, 'no name, no lookup');
    service.put('a', { name: 'Inception.2010.1080p.BluRay.x264-GRP' }, 'started');
    for (let i = 0; i < 20; i += 1) service.put('a', {}, 'progress');
    await linker.idle();
    assert.equal(links.get('a')?.movie?.title, 'Inception');
    assert.equal(searches(), 1);
    assert.deepEqual(service.announced, ['a']);
    assert.equal(linker.jobMovie('a')?.linkedAt, '2024-01-01T00:00:00.000Z');
  });

  it('a new name of the same film only updates the release; another film is looked up', async () => {
    make();
    service.put('a', { name: 'Inception 2010' });
    await linker.idle();
    assert.equal(links.get('a')?.release.resolution, null);
    service.put('a', { name: 'Inception.2010.2160p.WEB-DL.x265-GRP' });
    await linker.idle();
    assert.equal(searches(), 1, 'same title and year: no lookup');
    assert.equal(links.get('a')?.release.resolution, '2160p');
    assert.equal(links.get('a')?.movie?.title, 'Inception');

    service.put('a', { name: 'The.Matrix.1999.1080p' });
    await linker.idle();
    assert.equal(links.get('a')?.movie?.tmdbId, 603);

    // A name that finds nothing does not undo what was found.
    service.put('a', { name: 'Mock torrent 1234abcd' });
    await linker.idle();
    assert.equal(links.get('a')?.movie?.tmdbId, 603);
  });

  it('stores "nothing convincing" so it is not asked again, and keeps the user choice', async () => {
    make();
    service.put('a', { name: 'Completely.Unknown.Home.Movie.2011' });
    await linker.idle();
    assert.equal(links.get('a')?.movie, null);
    assert.equal(linker.jobMovie('a'), null);

    await linker.setUserMovie('a', 27205);
    service.put('a', { name: 'The.Matrix.1999.1080p' });
    await linker.idle();
    assert.equal(links.get('a')?.movie?.tmdbId, 27205, 'the user chose');
    assert.equal(links.get('a')?.origin, 'user');
    assert.equal(links.get('a')?.release.year, 1999, 'the release follows the name');
  });

  it('picks up jobs that were there before it started, except linked ones', async () => {
    service.put('old', { name: 'Inception.2010.720p' });
    service.put('linked', { name: 'The.Matrix.1999.720p' });
    links.set({
      jobId: 'linked',
      origin: 'auto',
      confidence: 1,
      release: new MetadataService({ fetcher }).parse('The.Matrix.1999.720p'),
      movie: null,
      linkedAt: new Date().toISOString(),
    });
    make();
    await linker.idle();
    assert.equal(links.get('old')?.movie?.title, 'Inception');
    assert.equal(searches(), 1);
  });

  it('does nothing without a key or with autoIdentify off', async () => {
    for (const options of [{ configured: false }, { autoIdentify: false }]) {
      make(options);
      service.put(`x${searches()}`, { name: 'Inception.2010.1080p' });
      await linker.idle();
      await linker.close();
    }
    assert.equal(fetcher.calls.length, 0);
    assert.equal(links.get('x0'), undefined);
  });

  it('retries a failed lookup as configured, then gives up; a rejected key stops everything', async () => {
    make({ retryDelaysMs: [5, 5] });
    fetcher.failWith(new ChillyError('metadata_unavailable', 'TMDB is down'));
    service.put('a', { name: 'Inception.2010.1080p' });
    const deadline = Date.now() + 5_000;
    while (!warnings.some((warning) => warning.includes('giving up')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(warnings.filter((warning) => warning.includes('trying again')).length, 2);
    assert.equal(warnings.filter((warning) => warning.includes('giving up')).length, 1);

    fetcher.failWith(new ChillyError('tmdb_key_rejected'));
    service.put('b', { name: 'The.Matrix.1999' });
    service.put('c', { name: 'Heat.1995' });
    await linker.idle();
    assert.equal(warnings.filter((warning) => warning.includes('rejected')).length, 1);
    assert.equal(linker.autoIdentify, false);

    fetcher.failWith(undefined);
    const job = await linker.identifyNow('a');
    assert.equal(job.id, 'a');
    assert.equal(links.get('a')?.movie?.title, 'Inception', 'the user can still ask');
  });

  it('forgets a job removed during its lookup', async () => {
    make();
    service.put('a', { name: 'Inception.2010.1080p' });
    service.remove('a');
    await linker.idle();
    assert.equal(links.get('a'), undefined);
    assert.deepEqual(warnings, []);
  });

  it('setUserMovie and identifyNow report unknown jobs and movies, and need a key to identify', async () => {
    make();
    await assert.rejects(
      linker.setUserMovie('nope', 603),
      (error) => error instanceof ChillyError && error.code === 'job_not_found',
    );
    service.put('a', { name: 'Inception.2010' });
    await linker.idle();
    await assert.rejects(
      linker.setUserMovie('a', 999_999_999),
      (error) => error instanceof ChillyError && error.code === 'movie_not_found',
    );
    assert.equal(links.get('a')?.movie?.title, 'Inception');
    await linker.close();

    make({ configured: false });
    await assert.rejects(
      linker.identifyNow('a'),
      (error) => error instanceof ChillyError && error.code === 'tmdb_not_configured',
    );
  });
});

describe('jobMovieOf and libraryPage', () => {
  it('summarises a link with local artwork URLs', () => {
    const summary = jobMovieOf({
      jobId: 'a',
      origin: 'auto',
      confidence: 0.9,
      release: {
        title: 'X',
        year: 2000,
        resolution: '720p',
        source: null,
        codec: null,
        edition: ['imax'],
        group: null,
      },
      movie: {
        tmdbId: 7,
        title: 'X',
        originalTitle: 'X',
        originalLanguage: 'en',
        year: 2000,
        releaseDate: '2000-01-01',
        overview: null,
        posterPath: '/p.jpg',
        posterUrl: 'https://image.tmdb.org/t/p/w500/p.jpg',
        backdropPath: null,
        backdropUrl: null,
        rating: null,
        voteCount: 0,
        popularity: 1,
      },
      linkedAt: '2024-01-01T00:00:00.000Z',
    });
    assert.equal(summary?.posterUrl, '/metadata/posters/7');
    assert.equal(summary?.backdropUrl, null);
    assert.equal(summary?.runtime, null);
    assert.deepEqual(summary?.release, {
      resolution: '720p',
      source: null,
      codec: null,
      edition: ['imax'],
      group: null,
    });
    assert.equal(jobMovieOf(undefined), null);
  });

  it('validates its paging', () => {
    const service = { list: () => ({ jobs: [], total: 0, limit: 500, offset: 0 }) };
    assert.throws(() => libraryPage(service, () => null, { limit: 0 }), /limit/);
    assert.throws(() => libraryPage(service, () => null, { offset: -1 }), /offset/);
    assert.deepEqual(
      libraryPage(service, () => null),
      { items: [], total: 0, limit: 50, offset: 0 },
    );
  });
});
