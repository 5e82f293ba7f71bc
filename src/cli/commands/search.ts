/**
 * `chilly search <title>`: movies at TMDB, found by the running server (with its TMDB key and its
 * cache, GET /metadata/search), shown as a table or JSON. The CLI itself never calls TMDB.
 */
import type { MovieSearchPage, MovieSummary } from '../../client/index.js';
import { ApiError, connect } from '../api.js';
import type { CommandContext } from '../context.js';
import { type Column, formatRating, renderTable, shortenText } from '../format.js';
import { CliError, EXIT, printJson, println, usageError } from '../io.js';
import { terminalSafe } from '../terminal-text.js';

export interface SearchOptions {
  year?: string;
  page?: string;
}

/** The API's limits (contracts/openapi.downloads.yaml, GET /metadata/search). */
const MAX_QUERY_LENGTH = 200;
const YEARS = { min: 1870, max: 2200 };
const PAGES = { min: 1, max: 500 };
/** The overview column: a glimpse, not the synopsis (`--json` has it whole). */
const OVERVIEW_WIDTH = 60;

export async function runSearch(ctx: CommandContext, title: string, options: SearchOptions): Promise<number> {
  const query = title.replace(/\s+/g, ' ').trim();
  if (query === '') throw usageError('Give a title to search for, e.g. `chilly search blade runner`.');
  if (Array.from(query).length > MAX_QUERY_LENGTH) {
    throw usageError(`The title is too long: at most ${MAX_QUERY_LENGTH} characters.`);
  }
  const year = options.year === undefined ? undefined : parseWhole('--year', options.year, YEARS);
  const page = options.page === undefined ? undefined : parseWhole('--page', options.page, PAGES);

  const api = await connect(ctx.config());
  let found: MovieSearchPage;
  try {
    found = await api.call(api.client.GET('/metadata/search', { params: { query: { query, year, page } } }));
  } catch (error) {
    throw withHint(error);
  }

  if (ctx.json) {
    printJson(ctx.io.stdout, found);
    return EXIT.ok;
  }
  const asked = `"${query}"${year === undefined ? '' : ` (${year})`}`;
  if (found.stale) {
    println(
      ctx.io.stderr,
      "chilly: warning: TMDB could not be reached; these results are from the server's cache and may be out of date.",
    );
  }
  if (found.results.length === 0) {
    println(
      ctx.io.stdout,
      terminalSafe(
        found.totalResults > 0
          ? `No results on page ${found.page} for ${asked}: ${pages(found)}.`
          : `No movies found for ${asked}.`,
      ),
    );
    return EXIT.ok;
  }
  println(
    ctx.io.stdout,
    renderTable(found.results, movieColumns(), ctx.io.stdout.isTTY ? ctx.io.stdout.columns : undefined),
  );
  if (found.totalPages > 1) {
    const next = found.page < found.totalPages ? `; --page ${found.page + 1} for more` : '';
    // The figures are the server's JSON, whatever it holds.
    println(
      ctx.io.stdout,
      ctx.style.dim(terminalSafe(`Page ${found.page} of ${found.totalPages} (${found.totalResults} results)${next}.`)),
    );
  }
  return EXIT.ok;
}

function movieColumns(): Column<MovieSummary>[] {
  return [
    { header: 'TMDB ID', value: (movie) => String(movie.tmdbId), align: 'right' },
    { header: 'TITLE', value: (movie) => movie.title },
    { header: 'YEAR', value: (movie) => (movie.year === null ? '-' : String(movie.year)), align: 'right' },
    { header: 'RATING', value: (movie) => formatRating(movie.rating), align: 'right' },
    { header: 'OVERVIEW', value: (movie) => shortenText(movie.overview, OVERVIEW_WIDTH), shrink: true },
  ];
}

function pages(found: MovieSearchPage): string {
  const results = `${found.totalResults} result${found.totalResults === 1 ? '' : 's'}`;
  return `${results} on ${found.totalPages} page${found.totalPages === 1 ? '' : 's'}`;
}

/** The metadata errors a user can fix, with what to do; anything else as the server said it. */
function withHint(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.code === 'tmdb_not_configured') {
    return new CliError(
      'The server has no TMDB key, so it cannot search. Set TMDB_API_KEY (or TMDB_READ_TOKEN; both free at ' +
        'themoviedb.org) where `chilly serve` runs and restart it; `chilly doctor` checks the setup.',
      { code: error.code, cause: error },
    );
  }
  if (error.code === 'tmdb_key_rejected') {
    return new CliError(
      `${error.message} Check TMDB_API_KEY / TMDB_READ_TOKEN where \`chilly serve\` runs; \`chilly doctor\` checks the setup.`,
      { code: error.code, cause: error },
    );
  }
  return error;
}

function parseWhole(flag: string, text: string, range: { min: number; max: number }): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw usageError(`${flag} must be a whole number from ${range.min} to ${range.max}.`);
  }
  return value;
}
