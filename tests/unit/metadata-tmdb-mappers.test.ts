import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  type ImageConfiguration,
  imageUrl,
  mapImageConfiguration,
  mapMovieDetails,
  mapSearchPage,
  pickSize,
  TmdbShapeError,
  yearOf,
} from '../../src/metadata/tmdb-mappers.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/tmdb/${name}`, import.meta.url), 'utf8')) as unknown;

const images: ImageConfiguration = mapImageConfiguration(fixture('configuration.json'));
const movies = fixture('movies.json') as Array<Record<string, unknown>>;
const matrix = movies.find((movie) => movie.id === 603);

describe('tmdb-mappers', () => {
  test('configuration: the secure base URL and the size lists', () => {
    assert.equal(images.baseUrl, 'https://image.tmdb.org/t/p/');
    assert.ok(images.posterSizes.includes('w500'));
    assert.ok(images.backdropSizes.includes('w1280'));
  });

  test('configuration: a base URL that is not http(s) is refused', () => {
    const bad = { images: { secure_base_url: 'javascript:alert(1)', poster_sizes: [], backdrop_sizes: [] } };
    assert.throws(() => mapImageConfiguration(bad), TmdbShapeError);
    assert.throws(() => mapImageConfiguration({ images: { base_url: 3 } }), TmdbShapeError);
    assert.throws(() => mapImageConfiguration(null), TmdbShapeError);
  });

  test('pickSize: the wanted size, else the next larger width, else original', () => {
    assert.equal(pickSize(['w92', 'w500', 'original'], 'w500'), 'w500');
    assert.equal(pickSize(['w92', 'w342', 'w780', 'original'], 'w500'), 'w780');
    assert.equal(pickSize(['w92', 'original'], 'w500'), 'original');
    assert.equal(pickSize([], 'w500'), 'original');
  });

  test('yearOf: only full dates', () => {
    assert.equal(yearOf('1999-03-31'), 1999);
    assert.equal(yearOf(''), null);
    assert.equal(yearOf(null), null);
    assert.equal(yearOf('1999'), null);
  });

  test('imageUrl: only TMDB-style file paths are joined onto the base URL', () => {
    assert.equal(imageUrl(images, images.posterSizes, 'w500', '/abc.jpg'), 'https://image.tmdb.org/t/p/w500/abc.jpg');
    assert.equal(imageUrl(images, images.posterSizes, 'w500', null), null);
    assert.equal(imageUrl(images, images.posterSizes, 'w500', '/../../etc/passwd'), null);
    assert.equal(imageUrl(images, images.posterSizes, 'w500', 'https://evil.example/x.jpg'), null);
  });

  test('details: every field of our shape', () => {
    const movie = mapMovieDetails(matrix, images);
    assert.deepEqual(movie, {
      tmdbId: 603,
      title: 'The Matrix',
      originalTitle: 'The Matrix',
      originalLanguage: 'en',
      year: 1999,
      releaseDate: '1999-03-31',
      overview: matrix?.overview,
      posterPath: '/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg',
      posterUrl: 'https://image.tmdb.org/t/p/w500/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg',
      backdropPath: '/ncEsesgOJDNrTUED89hYbA117wo.jpg',
      backdropUrl: 'https://image.tmdb.org/t/p/w1280/ncEsesgOJDNrTUED89hYbA117wo.jpg',
      rating: 8.2,
      voteCount: 26302,
      popularity: 86.3,
      runtime: 136,
      genres: ['Action', 'Science Fiction'],
      imdbId: 'tt0133093',
      tagline: 'Welcome to the Real World.',
      stale: false,
    });
  });

  test('details: other image sizes on request', () => {
    const movie = mapMovieDetails(matrix, images, { poster: 'w185', backdrop: 'original' });
    assert.match(movie.posterUrl ?? '', /\/w185\//);
    assert.match(movie.backdropUrl ?? '', /\/original\//);
  });

  test('details: a field of the wrong type is an error, not undefined', () => {
    assert.throws(() => mapMovieDetails({ ...matrix, id: '603' }, images), /movie\.id: expected a number/);
    assert.throws(() => mapMovieDetails({ ...matrix, runtime: '136' }, images), /movie\.runtime/);
    assert.throws(() => mapMovieDetails({ ...matrix, genres: [{ id: 1 }] }, images), /genres/);
    assert.throws(() => mapMovieDetails({ ...matrix, title: null, original_title: null }, images), /title/);
    assert.throws(() => mapMovieDetails([], images), /expected an object/);
  });

  test('details: a missing localised title falls back to the original one', () => {
    const movie = mapMovieDetails({ ...matrix, title: '' }, images);
    assert.equal(movie.title, 'The Matrix');
  });

  test('search: the envelope must be right; unusable results are dropped', () => {
    const body = {
      page: 1,
      total_pages: 1,
      total_results: 3,
      results: [
        { id: 603, title: 'The Matrix', release_date: '1999-03-31', vote_count: 0, vote_average: 0 },
        { title: 'no id' },
        'junk',
      ],
    };
    const page = mapSearchPage(body, images);
    assert.deepEqual(
      page.results.map((movie) => movie.tmdbId),
      [603],
    );
    assert.equal(page.results[0]?.rating, null, 'no votes: no rating');
    assert.equal(page.totalResults, 3);
    assert.throws(() => mapSearchPage({ ...body, page: '1' }, images), /search\.page/);
    assert.throws(() => mapSearchPage({ ...body, results: {} }, images), /search\.results/);
  });
});
