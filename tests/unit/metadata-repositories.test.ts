import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toSummary } from '../../src/metadata/metadata-fetcher.js';
import { MOCK_MOVIES } from '../../src/metadata/mock-metadata-fetcher.js';
import { parseReleaseName } from '../../src/metadata/release-name.js';
import { openDatabase, type SqliteDatabase, schemaVersion } from '../../src/storage/database.js';
import { MetadataCacheRepository } from '../../src/storage/metadata-cache-repository.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { type MovieLink, MovieLinksRepository } from '../../src/storage/movie-links-repository.js';

function insertJob(db: SqliteDatabase, id: string): void {
  db.prepare(
    `INSERT INTO jobs (id, position, source_type, source_urn, info_hash, status, save_path, created_at, updated_at)
     VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM jobs), 'torrent', ?, ?, 'queued', '/tmp/x', 'now', 'now')`,
  ).run(id, `urn:btih:${id}`, id.padEnd(40, '0'));
}

const matrix = toSummary(MOCK_MOVIES[0] ?? assert.fail('mock catalogue is empty'));

function link(jobId: string, overrides: Partial<MovieLink> = {}): MovieLink {
  return {
    jobId,
    origin: 'auto',
    confidence: 0.97,
    release: parseReleaseName('The.Matrix.1999.1080p.BluRay.x264-GRP'),
    movie: matrix,
    linkedAt: '2024-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('metadata storage', () => {
  test('the migration brings the schema to the latest version', () => {
    const db = openDatabase(':memory:');
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((row) => row.name);
    assert.ok(tables.includes('metadata_cache') && tables.includes('movie_links'), tables.join(','));
    db.close();
  });

  test('metadata_cache: put, get, overwrite, delete, prune by expiry', () => {
    const db = openDatabase(':memory:');
    const cache = new MetadataCacheRepository(db);
    cache.put({ key: 'a', json: '{"v":1}', fetchedAt: 100, expiresAt: 200 });
    cache.put({ key: 'b', json: '{"v":2}', fetchedAt: 100, expiresAt: 1_000 });
    assert.deepEqual(cache.get('a'), { key: 'a', json: '{"v":1}', fetchedAt: 100, expiresAt: 200 });
    cache.put({ key: 'a', json: '{"v":3}', fetchedAt: 300, expiresAt: 400 });
    assert.equal(cache.get('a')?.json, '{"v":3}');
    assert.equal(cache.count(), 2);
    assert.equal(cache.prune(500), 1);
    assert.equal(cache.get('a'), undefined);
    cache.delete('b');
    assert.equal(cache.count(), 0);
    db.close();
  });

  test('movie_links: set and read back, no-match links, several jobs per movie', () => {
    const db = openDatabase(':memory:');
    const links = new MovieLinksRepository(db);
    insertJob(db, 'job-1');
    insertJob(db, 'job-2');
    insertJob(db, 'job-3');
    links.set(link('job-1'));
    links.set(link('job-2', { release: parseReleaseName('The.Matrix.1999.2160p.UHD.BluRay.x265-OTHER') }));
    links.set(link('job-3', { movie: null, confidence: null, release: parseReleaseName('abcd1234') }));
    assert.deepEqual(links.get('job-1'), link('job-1'));
    assert.equal(links.get('job-3')?.movie, null);
    assert.deepEqual(
      links.byTmdbId(603).map((found) => found.jobId),
      ['job-1', 'job-2'],
    );
    assert.equal(links.get('nope'), undefined);
    db.close();
  });

  test("movie_links: an automatic link never overwrites the user's choice", () => {
    const db = openDatabase(':memory:');
    const links = new MovieLinksRepository(db);
    insertJob(db, 'job-1');
    assert.equal(links.setAutomatic(link('job-1', { confidence: 0.7 })), true);
    assert.equal(links.setAutomatic(link('job-1', { confidence: 0.8 })), true);
    assert.equal(links.get('job-1')?.confidence, 0.8);
    const other = toSummary(MOCK_MOVIES[1] ?? assert.fail());
    links.set(link('job-1', { origin: 'user', confidence: null, movie: other }));
    assert.equal(links.setAutomatic(link('job-1')), false);
    assert.equal(links.get('job-1')?.movie?.tmdbId, other.tmdbId);
    assert.equal(links.get('job-1')?.origin, 'user');
    db.close();
  });

  test('movie_links: removed with the job; a link needs an existing job', () => {
    const db = openDatabase(':memory:');
    const links = new MovieLinksRepository(db);
    insertJob(db, 'job-1');
    links.set(link('job-1'));
    db.prepare('DELETE FROM jobs WHERE id = ?').run('job-1');
    assert.equal(links.get('job-1'), undefined);
    assert.throws(() => links.set(link('ghost')), /FOREIGN KEY/);
    db.close();
  });
});
