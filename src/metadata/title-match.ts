/**
 * Comparing a title parsed from a release name with TMDB's titles: the basis of `identify()`.
 * Pure functions, no I/O.
 */
import type { MovieSummary } from './metadata-fetcher.js';

/**
 * Lower case, no accents, no punctuation, "&" read as "and", single spaces:
 * "Spider-Man: Across the Spider-Verse" and "Spider.Man.Across.the.Spider.Verse" compare equal,
 * and so do "Amélie" and "Amelie". Letters of every script survive ("Три богатыря" stays).
 */
export function normalizeTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function words(title: string): string[] {
  const normalized = normalizeTitle(title);
  return normalized === '' ? [] : normalized.split(' ');
}

/** 1 for the same normalized title; otherwise the Dice overlap of their words, 0..1. */
export function titleSimilarity(a: string, b: string): number {
  const left = words(a);
  const right = words(b);
  if (left.length === 0 || right.length === 0) return 0;
  if (left.join(' ') === right.join(' ')) return 1;
  // "the" and "a" say little about a match; leaving them out keeps "Matrix" close to "The Matrix".
  const meaningful = (list: string[]): string[] => list.filter((word) => word !== 'the' && word !== 'a');
  const l = meaningful(left);
  const r = meaningful(right);
  if (l.length > 0 && l.join(' ') === r.join(' ')) return 0.95;
  const remaining = [...r];
  let shared = 0;
  for (const word of l) {
    const index = remaining.indexOf(word);
    if (index >= 0) {
      shared++;
      remaining.splice(index, 1);
    }
  }
  const total = l.length + r.length;
  return total === 0 ? 0 : (0.9 * (2 * shared)) / total;
}

export interface ScoredCandidate {
  movie: MovieSummary;
  /** 0..1: how sure we are that the release is this movie. */
  confidence: number;
}

/**
 * Title similarity (best of title and original title) weighed by how far the years are apart.
 * Release years drift by one between countries and festivals, so ±1 costs little; further
 * apart is usually a remake ("Dune" 1984 vs 2021) and costs a lot.
 */
export function scoreCandidate(parsedTitle: string, parsedYear: number | null, movie: MovieSummary): number {
  const similarity = Math.max(
    titleSimilarity(parsedTitle, movie.title),
    titleSimilarity(parsedTitle, movie.originalTitle),
  );
  let yearFactor = 0.85; // No year on one side: a title match is all we have.
  if (parsedYear !== null && movie.year !== null) {
    const distance = Math.abs(parsedYear - movie.year);
    yearFactor = distance === 0 ? 1 : distance === 1 ? 0.9 : 0.4;
  }
  return Math.round(similarity * yearFactor * 1000) / 1000;
}

/**
 * Candidates best first. Equal scores go to the more popular movie (a search for "Heat" 1995
 * should not pick an obscure short of the same name and year), then the lower id (stable).
 */
export function rankCandidates(parsedTitle: string, parsedYear: number | null, movies: readonly MovieSummary[]) {
  return movies
    .map((movie): ScoredCandidate => ({ movie, confidence: scoreCandidate(parsedTitle, parsedYear, movie) }))
    .sort(
      (a, b) =>
        b.confidence - a.confidence || b.movie.popularity - a.movie.popularity || a.movie.tmdbId - b.movie.tmdbId,
    );
}
