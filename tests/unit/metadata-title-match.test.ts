import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MovieSummary } from '../../src/metadata/metadata-fetcher.js';
import { normalizeTitle, rankCandidates, scoreCandidate, titleSimilarity } from '../../src/metadata/title-match.js';

function summary(
  tmdbId: number,
  title: string,
  year: number | null,
  popularity = 1,
  originalTitle = title,
): MovieSummary {
  return {
    tmdbId,
    title,
    originalTitle,
    originalLanguage: null,
    year,
    releaseDate: null,
    overview: null,
    posterPath: null,
    posterUrl: null,
    backdropPath: null,
    backdropUrl: null,
    rating: null,
    voteCount: 0,
    popularity,
  };
}

describe('title matching', () => {
  test('normalizeTitle ignores case, accents, punctuation and "&"', () => {
    assert.equal(normalizeTitle('Spider-Man: Across the Spider-Verse'), 'spider man across the spider verse');
    assert.equal(normalizeTitle('Amélie'), 'amelie');
    assert.equal(normalizeTitle("Ocean's Eleven"), 'oceans eleven');
    assert.equal(normalizeTitle('Fast & Furious'), 'fast and furious');
    assert.equal(normalizeTitle('Три богатыря'), 'три богатыря');
    assert.equal(normalizeTitle('千と千尋の神隠し'), '千と千尋の神隠し');
  });

  test('titleSimilarity: 1 for equal titles, high without articles, lower for partial overlap', () => {
    assert.equal(titleSimilarity('Kill Bill Vol 1', 'Kill Bill: Vol. 1'), 1);
    assert.equal(titleSimilarity('Matrix', 'The Matrix'), 0.95);
    const partial = titleSimilarity('The Matrix', 'The Matrix Reloaded');
    assert.ok(partial > 0.5 && partial < 0.95, String(partial));
    assert.equal(titleSimilarity('Heat', 'Inception'), 0);
    assert.equal(titleSimilarity('', 'Heat'), 0);
  });

  test('scoreCandidate: a year one off costs a little, a remake decades apart a lot', () => {
    const dune2021 = summary(438631, 'Dune', 2021);
    assert.equal(scoreCandidate('Dune', 2021, dune2021), 1);
    assert.equal(scoreCandidate('Dune', 2020, dune2021), 0.9);
    assert.ok(scoreCandidate('Dune', 1984, dune2021) < 0.5);
    assert.equal(scoreCandidate('Dune', null, dune2021), 0.85);
  });

  test('the original title counts as much as the localised one', () => {
    assert.equal(scoreCandidate('Gisaengchung', 2019, summary(496243, 'Parasite', 2019, 1, 'Gisaengchung')), 1);
  });

  test('rankCandidates: best first; ties go to the more popular movie', () => {
    const ranked = rankCandidates('Heat', 1995, [
      summary(1, 'Heat', 1995, 0.5),
      summary(949, 'Heat', 1995, 41),
      summary(32059, 'Heat', 1986, 6),
      summary(3, 'Heat Wave', 1995, 50),
    ]);
    assert.deepEqual(
      ranked.map((candidate) => candidate.movie.tmdbId),
      [949, 1, 3, 32059],
    );
  });
});
