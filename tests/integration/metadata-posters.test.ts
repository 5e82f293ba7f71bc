import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isChillyError } from '../../src/domain/errors.js';
import { PosterCache } from '../../src/metadata/poster-cache.js';
import { fakeTmdbServerAroundTests, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';

const fake = fakeTmdbServerAroundTests({ clearRequestsBeforeEach: true });
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'chilly-posters-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const posterUrl = (file: string): string => `${fake.imageBaseUrl}w500/${file}`;
const daysAgo = (days: number): Date => new Date(Date.now() - days * 24 * 3600_000);

describe('PosterCache', () => {
  test('downloads once into <dataDir>/cache/posters and serves the local file after', async () => {
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir) });
    const url = posterUrl('f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg');
    assert.equal(await posters.cached(url), undefined);
    const first = await posters.get(url);
    assert.equal(path.dirname(first.path), path.join(dataDir, 'cache', 'posters'));
    assert.equal(first.contentType, 'image/png');
    assert.match(first.path, /\.png$/, 'the extension follows the real type, not the URL');
    assert.deepEqual(await readFile(first.path), fake.posterBytes);
    assert.equal(first.bytes, fake.posterBytes.length);
    const second = await posters.get(url);
    assert.deepEqual(second, first);
    assert.equal(fake.count('image'), 1);
  });

  test('offline: what was downloaded is still served', async () => {
    const server = await startFakeTmdbServer();
    const url = `${server.imageBaseUrl}w500/poster.png`;
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir) });
    const downloaded = await posters.get(url);
    await server.close();
    assert.deepEqual(await posters.cached(url), downloaded);
    assert.deepEqual(await posters.get(url), downloaded);
    await assert.rejects(posters.get(`${server.imageBaseUrl}w500/other.png`), (error) =>
      isChillyError(error, 'metadata_unavailable'),
    );
  });

  test('concurrent requests for one image share one download', async () => {
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir) });
    const url = posterUrl('shared.png');
    const results = await Promise.all([posters.get(url), posters.get(url), posters.get(url)]);
    assert.equal(fake.count('image'), 1);
    assert.ok(results.every((result) => result.path === results[0]?.path));
  });

  test('refuses what is not an image: wrong Content-Type, or bytes that do not match it', async () => {
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir) });
    await assert.rejects(posters.get(posterUrl('not-an-image.jpg')), /not an image \(text\/html\)/);
    await assert.rejects(posters.get(posterUrl('liar.png')), /not a image\/png image/);
    assert.deepEqual(await readdir(PosterCache.dirFor(dataDir)).catch(() => []), []);
  });

  test('refuses an image over the size limit and leaves nothing behind', async () => {
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir), maxBytes: 16 });
    // Refused on its Content-Length, and (without one) while streaming.
    await assert.rejects(posters.get(posterUrl('big.png')), /73 bytes is over the limit/);
    await assert.rejects(posters.get(posterUrl('chunked.png')), /more than 16 bytes/);
    assert.deepEqual(await readdir(PosterCache.dirFor(dataDir)).catch(() => []), []);
  });

  test('the folder stays under maxTotalBytes: the least recently used images go, a hit counts as use', async () => {
    const size = fake.posterBytes.length;
    const dir = PosterCache.dirFor(dataDir);
    const posters = new PosterCache({ dir, maxTotalBytes: Math.floor(2.5 * size) });
    const [a, b, c] = ['a.png', 'b.png', 'c.png'].map(posterUrl) as [string, string, string];
    const fileA = (await posters.get(a)).path;
    const fileB = (await posters.get(b)).path;
    // A was downloaded 10 days ago, B 5 days ago; then A is shown again (a hit).
    await utimes(fileA, daysAgo(10), daysAgo(10));
    await utimes(fileB, daysAgo(5), daysAgo(5));
    assert.equal((await posters.cached(a))?.path, fileA);
    assert.ok(Date.now() - (await stat(fileA)).mtimeMs < 60_000, 'the hit marked A as used');
    // A leftover of a process that died mid-write, two hours ago.
    const leftover = path.join(dir, 'dead.png.0123456789ab.part');
    await writeFile(leftover, 'partial');
    await utimes(leftover, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));

    const fileC = (await posters.get(c)).path;
    assert.deepEqual((await readdir(dir)).sort(), [path.basename(fileA), path.basename(fileC)].sort());
    assert.equal(await posters.cached(b), undefined, 'B, the least recently used, went');
    assert.equal(fake.count('image'), 3);
    // Asked again, B comes back (and something else goes).
    await posters.get(b);
    assert.equal(fake.count('image'), 4);
    assert.ok((await readdir(dir)).length <= 2);
  });

  test('HTTP errors and bad URLs are errors', async () => {
    const posters = new PosterCache({ dir: PosterCache.dirFor(dataDir) });
    await assert.rejects(posters.get(posterUrl('missing.png')), /HTTP 404/);
    await assert.rejects(posters.get('file:///etc/passwd'), (error) => isChillyError(error, 'validation_failed'));
    await assert.rejects(posters.get('not a url'), (error) => isChillyError(error, 'validation_failed'));
  });
});
