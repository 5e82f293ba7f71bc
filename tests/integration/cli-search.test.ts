/**
 * `chilly search` (the built CLI) against real servers (startServer, SQLite, a MockDownloader)
 * whose TMDB is the fake on 127.0.0.1: the table, --json, --year and --page reaching TMDB through
 * the server, the CLI never holding a key itself, and a server without a key (exit 1 and a hint).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import type { MovieSearchPage } from '../../src/metadata/metadata-fetcher.js';
import { assertSchema } from '../helpers/api-contract.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, runChilly } from '../helpers/cli-run.js';
import { type FakeTmdbServer, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';
import { tempDir } from '../helpers/wait.js';

/** A server on a free port whose TMDB is `fake`; with the fake's key unless `withKey` is false. */
async function startSearchServer(dataDir: string, fake: FakeTmdbServer, withKey: boolean): Promise<RunningServer> {
  const config = loadConfig(
    {
      CHILLY_DATA_DIR: dataDir,
      CHILLY_NETWORK: 'loopback',
      CHILLY_TMDB_BASE_URL: fake.baseUrl,
      CHILLY_METADATA_AUTO_IDENTIFY: 'off',
      ...(withKey ? { TMDB_API_KEY: fake.apiKey } : {}),
    },
    { host: '127.0.0.1', port: 0 },
  );
  return startServer({
    config,
    downloader: new MockDownloader({ mediaRoot: config.mediaRoot }),
    logger: false,
    metadata: { client: { timeoutMs: 2_000, retry: { maxAttempts: 1 } }, linker: { retryDelaysMs: [] } },
  });
}

/** The table's data rows as cells (columns are two or more spaces apart; no cell has such a gap). */
function rows(stdout: string): string[][] {
  const lines = stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^TMDB ID {2}TITLE +YEAR {2}RATING {2}OVERVIEW$/);
  return lines.slice(1).map((line) => line.trim().split(/ {2,}/));
}

describe('chilly search (built) against a server with TMDB', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeTmdbServer;
  let server: RunningServer;
  let bare: RunningServer;
  let env: Record<string, string>;
  let bareEnv: Record<string, string>;

  const chilly = (args: string[], extraEnv: Record<string, string> = {}) =>
    runChilly(['search', ...args], { env: { ...env, ...extraEnv }, cwd: work.dir, timeoutMs: 30_000 });
  const searches = () => fake.requests.filter((request) => request.route === 'search');

  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-cli-search-');
    fake = await startFakeTmdbServer();
    const dataDir = path.join(work.dir, 'data');
    const bareDataDir = path.join(work.dir, 'data-no-key');
    [server, bare] = await Promise.all([
      startSearchServer(dataDir, fake, true),
      startSearchServer(bareDataDir, fake, false),
    ]);
    // The CLI has no TMDB key of its own: only the server talks to TMDB.
    const home = path.join(work.dir, 'home');
    env = isolatedEnv(home, { CHILLY_DATA_DIR: dataDir, CHILLY_PORT: new URL(server.url).port });
    bareEnv = isolatedEnv(home, { CHILLY_DATA_DIR: bareDataDir, CHILLY_PORT: new URL(bare.url).port });
  });

  after(async () => {
    killAllCli();
    await Promise.all([server?.close(), bare?.close()]);
    await fake?.close();
    await work?.cleanup();
  });

  it('prints a table: TMDB id, title, year, rating and a shortened overview, most popular first', async () => {
    const before = searches().length;
    const result = await chilly(['blade', 'runner']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const table = rows(result.stdout);
    assert.deepEqual(
      table.map((cells) => cells.slice(0, 4)),
      [
        ['335984', 'Blade Runner 2049', '2017', '7.6'],
        ['78', 'Blade Runner', '1982', '7.9'],
      ],
    );
    for (const [, , , , overview] of table) {
      assert.ok(overview !== undefined && overview.length <= 60, `overview shortened: ${overview}`);
      assert.match(overview, /…$/);
    }
    assert.equal(table[1]?.[4], 'In the smog-choked dystopian Los Angeles of 2019, blade…');
    assert.equal(result.stdout.includes('\u001b'), false, 'no ANSI escapes when stdout is not a terminal');
    assert.doesNotMatch(result.stdout, /Page \d+ of/, 'no paging line for a single page');

    // The words became one query, asked of TMDB by the server with the server's key.
    const asked = searches().slice(before);
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.query.query, 'blade runner');
    assert.equal(asked[0]?.query.api_key, fake.apiKey);
    assert.equal(asked[0]?.query.page, '1');
  });

  it('--json prints the API page (MovieSearchPage) unchanged; --year and --page reach TMDB', async () => {
    const before = searches().length;
    const result = await chilly(['heat', '--year', '1995', '--page', '1', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const page = JSON.parse(result.stdout) as MovieSearchPage;
    assertSchema({ $ref: '#/components/schemas/MovieSearchPage' }, page, 'chilly search --json');
    assert.deepEqual(
      page.results.map((movie) => [movie.tmdbId, movie.title, movie.year]),
      [[949, 'Heat', 1995]],
    );
    assert.equal(page.results[0]?.overview?.startsWith('Obsessive master thief'), true, 'the whole overview');
    assert.equal(page.results[0]?.posterUrl, '/metadata/posters/949', "artwork on the server's own URLs");
    assert.equal(page.stale, false);
    assert.deepEqual(
      searches()
        .slice(before)
        .map((request) => [request.query.query, request.query.year, request.query.page]),
      [['heat', '1995', '1']],
    );
  });

  it('shows "-" for an unknown year, a rating nobody gave and a missing overview', async () => {
    const result = await chilly(['Untitled Obscure Short']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(rows(result.stdout), [['999001', 'Untitled Obscure Short', '-', '-', '-']]);
  });

  it('says so when nothing matches, or when the page is past the last one (exit 0)', async () => {
    const none = await chilly(['no such film anywhere']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'No movies found for "no such film anywhere".\n');

    const withYear = await chilly(['heat', '--year', '2001']);
    assert.equal(withYear.code, 0, withYear.stderr);
    assert.equal(withYear.stdout, 'No movies found for "heat" (2001).\n');

    const past = await chilly(['dune', '--page', '2']);
    assert.equal(past.code, 0, past.stderr);
    assert.equal(past.stdout, 'No results on page 2 for "dune": 2 results on 1 page.\n');
  });

  it('tells how to get the next page when there are more', async () => {
    fake.script('search', {
      status: 200,
      body: {
        page: 1,
        total_pages: 3,
        total_results: 45,
        results: [
          {
            id: 603,
            title: 'The Matrix',
            original_title: 'The Matrix',
            original_language: 'en',
            release_date: '1999-03-31',
            overview: 'A hacker learns what the world really is.',
            poster_path: null,
            backdrop_path: null,
            vote_average: 8.2,
            vote_count: 26000,
            popularity: 86.3,
          },
        ],
      },
    });
    const result = await chilly(['paged matrix query']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.deepEqual(rows(lines.slice(0, 2).join('\n')), [
      ['603', 'The Matrix', '1999', '8.2', 'A hacker learns what the world really is.'],
    ]);
    assert.equal(lines[2], 'Page 1 of 3 (45 results); --page 2 for more.');
  });

  it('explains a key TMDB rejects (exit 1, tmdb_key_rejected)', async () => {
    fake.script('search', { status: 401 });
    const result = await chilly(['rejected key query']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^chilly: tmdb_key_rejected: .*TMDB_API_KEY.*chilly doctor/m);
  });

  it('refuses bad input before asking the server (exit 2)', async () => {
    const before = searches().length;
    for (const [args, message] of [
      [['heat', '--year', '95'], /--year must be a whole number from 1870 to 2200/],
      [['heat', '--year', 'soon'], /--year must be a whole number from 1870 to 2200/],
      [['heat', '--page', '0'], /--page must be a whole number from 1 to 500/],
      [['heat', '--page', '501'], /--page must be a whole number from 1 to 500/],
      [['  '], /Give a title to search for/],
      [['x'.repeat(201)], /at most 200 characters/],
    ] as const) {
      const result = await chilly([...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
    const missing = await chilly([]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'title'/);
    assert.equal(searches().length, before, 'nothing reached TMDB');
  });

  it('without a TMDB key on the server: exit 1, tmdb_not_configured and what to set', async () => {
    const before = fake.requests.length;
    for (const args of [
      ['the', 'matrix'],
      ['the matrix', '--json'],
    ]) {
      const result = await runChilly(['search', ...args], { env: bareEnv, cwd: work.dir, timeoutMs: 30_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, '', 'nothing on stdout, not even with --json');
      assert.match(result.stderr, /^chilly: tmdb_not_configured: The server has no TMDB key/m);
      assert.match(result.stderr, /TMDB_API_KEY/);
      assert.match(result.stderr, /TMDB_READ_TOKEN/);
      assert.match(result.stderr, /chilly doctor/);
    }
    assert.equal(fake.requests.length, before, 'a server without a key sends nothing to TMDB');
  });

  it('a server that is not running: exit 1, server_unreachable', async () => {
    await bare.close();
    const result = await runChilly(['search', 'heat'], { env: bareEnv, cwd: work.dir, timeoutMs: 30_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^chilly: server_unreachable: Cannot reach the Chilly Movies server/m);
  });
});
