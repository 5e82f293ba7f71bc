import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChillyError, isChillyError } from '../../src/domain/errors.js';
import { MOCK_MOVIES, MockMetadataFetcher } from '../../src/metadata/mock-metadata-fetcher.js';

describe('MockMetadataFetcher', () => {
  test('search matches every word, ignoring case and accents, most popular first', async () => {
    const mock = new MockMetadataFetcher();
    const page = await mock.searchMovies('MATRIX');
    assert.deepEqual(
      page.results.map((movie) => movie.title),
      ['The Matrix', 'The Matrix Reloaded'],
    );
    assert.equal(page.totalResults, 2);
    assert.equal(page.stale, false);
    assert.equal((await mock.searchMovies('amelie')).results[0]?.tmdbId, 194);
    assert.equal((await mock.searchMovies('기생충')).results[0]?.tmdbId, 496243);
    assert.equal((await mock.searchMovies('blade runner 2049')).results.length, 1);
  });

  test('search filters by year and pages', async () => {
    const mock = new MockMetadataFetcher({ pageSize: 1 });
    assert.deepEqual(
      (await mock.searchMovies('matrix', { year: 2003 })).results.map((movie) => movie.tmdbId),
      [604],
    );
    const second = await mock.searchMovies('matrix', { page: 2 });
    assert.deepEqual(
      second.results.map((movie) => movie.tmdbId),
      [604],
    );
    assert.equal(second.totalPages, 2);
    assert.deepEqual((await mock.searchMovies('matrix', { page: 3 })).results, []);
  });

  test('getMovie returns a copy; unknown ids are movie_not_found', async () => {
    const mock = new MockMetadataFetcher();
    const movie = await mock.getMovie(603);
    movie.genres.push('Mutated');
    assert.deepEqual((await mock.getMovie(603)).genres, ['Action', 'Science Fiction']);
    await assert.rejects(mock.getMovie(1), (error) => isChillyError(error, 'movie_not_found'));
  });

  test('deterministic: the same answers every time, and no artwork URL unless asked', async () => {
    const a = await new MockMetadataFetcher().searchMovies('blade runner');
    const b = await new MockMetadataFetcher().searchMovies('blade runner');
    assert.deepEqual(a, b);
    assert.equal(a.results[0]?.posterUrl, null);
    const withImages = new MockMetadataFetcher({ imageBaseUrl: 'http://127.0.0.1:1/t/p/' });
    assert.equal((await withImages.getMovie(603)).posterUrl, 'http://127.0.0.1:1/t/p/w500/mock-poster-603.jpg');
  });

  test('records calls and can be made to fail', async () => {
    const mock = new MockMetadataFetcher({ movies: MOCK_MOVIES.slice(0, 1) });
    await mock.searchMovies('  the   matrix ', { year: 1999 });
    mock.failWith(new ChillyError('metadata_unavailable'));
    await assert.rejects(mock.getMovie(603), (error) => isChillyError(error, 'metadata_unavailable'));
    mock.failWith(undefined);
    assert.equal((await mock.getMovie(603)).title, 'The Matrix');
    assert.deepEqual(mock.calls, [
      { method: 'searchMovies', query: 'the matrix', year: 1999, page: 1 },
      { method: 'getMovie', tmdbId: 603 },
      { method: 'getMovie', tmdbId: 603 },
    ]);
  });

  test('validates like the real client', async () => {
    const mock = new MockMetadataFetcher();
    await assert.rejects(mock.searchMovies(''), (error) => isChillyError(error, 'validation_failed'));
    await assert.rejects(mock.searchMovies('x'.repeat(201)), (error) => isChillyError(error, 'validation_failed'));
    await assert.rejects(mock.searchMovies('x', { page: 501 }), (error) => isChillyError(error, 'validation_failed'));
    await assert.rejects(mock.getMovie(0), (error) => isChillyError(error, 'validation_failed'));
    assert.deepEqual(mock.calls, []);
  });
});
