/**
 * Everything the CLI prints from a server or a torrent is untrusted: a torrent's name, its file
 * paths, error messages and movie titles may hold terminal escapes (retitle the terminal, clear
 * the screen), CR/LF (forge `ls` rows) and bidi overrides. The real commands, in-process, against
 * a hostile fake API on 127.0.0.1: nothing of it may reach the terminal raw, and `--json` stays
 * exact JSON.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createProgressView } from '../../src/cli/progress.js';
import { emptyProgress, type Job, type JobStatus } from '../../src/domain/job.js';
import type { MovieSearchPage } from '../../src/metadata/metadata-fetcher.js';
import { type FakeTerminalRun, runCliInFakeTerminal } from '../helpers/fake-terminal.js';

/**
 * Retitles the terminal (OSC 0 … BEL), clears the screen (CSI 2J), starts a forged `ls` row
 * (CR LF), colours with an 8-bit CSI (U+009B), reverses text (RLO, LRI), and a TAB, DEL and NUL.
 */
const HOSTILE =
  'Evil\u001b]0;pwned\u0007\u001b[2J\r\nforged-row  completed  100.0%\u009b31m\u202eoow\u2066\t\u007f\u0000end';

/** C0 and C1 controls, DEL, bidi embeddings/overrides/isolates and marks, line/paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/** The text with its line breaks taken out: what is left must hold no control character at all. */
function assertTerminalSafe(text: string, what: string): void {
  const match = UNSAFE.exec(text.replaceAll('\n', ''));
  assert.equal(
    match,
    null,
    `${what}: raw U+${match?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} at ${match?.index} in ${JSON.stringify(text)}`,
  );
}

function hostileJob(id: string, status: JobStatus, overrides: Partial<Job> = {}): Job {
  return {
    id,
    sourceType: 'torrent',
    sourceUrn: `magnet:?xt=urn:btih:${'a'.repeat(40)}&dn=${HOSTILE}`,
    status,
    infoHash: 'a'.repeat(40),
    name: HOSTILE,
    files: [
      { path: `${HOSTILE}/${HOSTILE}.mkv`, length: 1024 },
      { path: 'subs/en.srt', length: 10 },
    ],
    savePath: `/media/${HOSTILE}`,
    progress: { ...emptyProgress(), fraction: 0.5, bytesDone: 512, bytesTotal: 1024, peers: 2, downloadSpeed: 100 },
    sequential: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const SEARCH: MovieSearchPage = {
  page: 1,
  totalPages: 2,
  totalResults: 21,
  stale: false,
  results: [
    {
      tmdbId: 1,
      title: HOSTILE,
      originalTitle: HOSTILE,
      year: 2001,
      releaseDate: '2001-01-01',
      overview: HOSTILE,
      rating: 7.1,
      voteCount: 10,
      popularity: 1,
      originalLanguage: 'en',
      posterPath: null,
      posterUrl: null,
      backdropPath: null,
      backdropUrl: null,
    },
  ],
};

/** The API as a hostile server would answer it: well-formed JSON, poisoned strings. */
function hostileApi(): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const route = `${request.method} ${url.pathname}`;
    if (route === 'GET /health') return json(200, { ok: true, activeDownloads: 0, queued: 0 });
    if (route === 'GET /downloads') {
      const jobs = [hostileJob('night-1968', 'downloading'), hostileJob('day-1969', 'paused', { name: undefined })];
      return json(200, { jobs, total: jobs.length, limit: 500, offset: 0 });
    }
    if (route === 'GET /download/status/done') return json(200, hostileJob('done', 'completed'));
    if (route === 'GET /download/status/failed') {
      return json(200, hostileJob('failed', 'error', { error: { code: 'download_failed', message: HOSTILE } }));
    }
    if (route.startsWith('GET /download/status/')) {
      return json(404, { error: { code: `job_not_found${HOSTILE}`, message: HOSTILE } });
    }
    if (route === 'POST /download/start') {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        const { id } = JSON.parse(body) as { id: string };
        json(201, hostileJob(id, 'downloading'));
      });
      return;
    }
    if (request.method === 'POST' && /^\/download\/(pause|resume|cancel)$/.test(url.pathname)) {
      return json(200, hostileJob('night-1968', 'paused'));
    }
    if (route === 'GET /events') {
      // Open and silent: the command reads the job's status next, which is settled.
      response.writeHead(200, { 'content-type': 'text/event-stream' }).write(': hello\n\n');
      return;
    }
    if (route === 'GET /metadata/search') return json(200, SEARCH);
    return json(404, { error: { code: 'not_found', message: 'no route' } });
  });
}

describe('the CLI prints untrusted text safely (in-process, hostile fake API)', () => {
  let api: http.Server;
  let port = 0;

  before(async () => {
    api = hostileApi();
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    port = (api.address() as AddressInfo).port;
  });

  after(async () => {
    api.closeAllConnections();
    await new Promise<void>((resolve) => api.close(() => resolve()));
  });

  function run(args: string[], tty = false): Promise<FakeTerminalRun> {
    return runCliInFakeTerminal(args, {
      stdout: { isTTY: tty, columns: 200 },
      env: {
        HOME: '/nonexistent-chilly-home',
        CHILLY_HOST: '127.0.0.1',
        CHILLY_PORT: String(port),
        CHILLY_TOKEN: 'unit-test-token-0123456789',
        NO_COLOR: '1',
      },
      cwd: process.cwd(),
    });
  }

  it('ls: one row per job, names with their escapes made visible, no forged row', async () => {
    for (const tty of [false, true]) {
      const result = await run(['ls'], tty);
      assert.equal(result.code, 0, result.stderr);
      assertTerminalSafe(result.stdout, `ls (tty: ${tty})`);
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 3, `a header and two rows:\n${result.stdout}`);
      assert.match(lines[1] ?? '', /^night-1968 +downloading/);
      assert.match(lines[2] ?? '', /^day-1969 +paused/);
      assert.match(result.stdout, /Evil\\x1b\]0;pwned\\x07/, 'the escape is shown, not sent');
    }
  });

  it('ls --json and status --json stay exact JSON, with the same strings as the server sent', async () => {
    const list = await run(['ls', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const jobs = JSON.parse(list.stdout) as Job[];
    assert.equal(jobs[0]?.name, HOSTILE);
    assertTerminalSafe(list.stdout, 'ls --json');
    const status = await run(['status', 'done', '--json']);
    assert.equal((JSON.parse(status.stdout) as Job).savePath, `/media/${HOSTILE}`);
    assertTerminalSafe(status.stdout, 'status --json');
  });

  it('status: the card (name, files, save path, source, error) shows escapes, one line per field', async () => {
    const done = await run(['status', 'done']);
    assert.equal(done.code, 0, done.stderr);
    assertTerminalSafe(done.stdout, 'status');
    assert.match(done.stdout, /^name {7}Evil\\x1b/m);
    assert.equal(done.stdout.split('\n').filter((line) => line.startsWith('saved in')).length, 1);
    const failed = await run(['status', 'failed']);
    assertTerminalSafe(failed.stdout, 'status of a failed job');
  });

  it('add --detach, pause, resume, cancel: the lines that name the job', async () => {
    for (const args of [
      ['add', `magnet:?xt=urn:btih:${'b'.repeat(40)}&dn=plain`, '--id', 'night-1968', '--detach'],
      ['pause', 'night-1968'],
      ['resume', 'night-1968'],
      ['cancel', 'night-1968'],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assertTerminalSafe(result.stdout + result.stderr, args[0] ?? '');
    }
  });

  it('add (followed): the progress line and "Done:" line, and the error of a failed job', async () => {
    for (const tty of [false, true]) {
      const result = await run(['add', `magnet:?xt=urn:btih:${'c'.repeat(40)}&dn=plain`, '--id', 'done'], tty);
      assert.equal(result.code, 0, result.stderr);
      const text = tty ? stripOwnBarControls(result.stdout) : result.stdout;
      assertTerminalSafe(text, `add, followed (tty: ${tty})`);
      assert.match(result.stdout, /Done: Evil\\x1b/);
    }
    const failed = await run(['add', `magnet:?xt=urn:btih:${'d'.repeat(40)}&dn=plain`, '--id', 'failed']);
    assert.equal(failed.code, 1);
    assertTerminalSafe(failed.stdout + failed.stderr, 'add of a job that fails');
    assert.match(failed.stderr, /^chilly: download_failed: failed failed: Evil\\x1b/m);
  });

  it('error messages and codes from the server are printed safely (stderr, one line)', async () => {
    const result = await run(['status', 'nope']);
    assert.equal(result.code, 1);
    assertTerminalSafe(result.stderr, 'error');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^chilly: job_not_foundEvil\\x1b/);
  });

  it('search: titles and overviews in the table', async () => {
    const result = await run(['search', 'evil']);
    assert.equal(result.code, 0, result.stderr);
    assertTerminalSafe(result.stdout, 'search');
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, `header, one row, the page line:\n${result.stdout}`);
  });
});

describe('the progress view labels a bar with the name made safe', () => {
  it('on a terminal (the bar) and elsewhere (plain lines)', () => {
    for (const isTTY of [true, false]) {
      let text = '';
      const view = createProgressView({
        isTTY,
        columns: 200,
        write: (chunk: string) => {
          text += chunk;
          return true;
        },
      });
      view.update(hostileJob(`id${HOSTILE}`, 'downloading'));
      view.stop();
      assertTerminalSafe(isTTY ? stripOwnBarControls(text) : text, `progress (tty: ${isTTY})`);
    }
  });
});

/**
 * cli-progress's own controls, exactly as it writes them (save/restore cursor, cursor and line
 * wrapping on/off, column 1, clear line, clear below), are fine; anything else is not.
 */
function stripOwnBarControls(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the bar's escape sequences
  return text.replace(/\u001b[78]|\u001b\[\?(?:25|7)[hl]|\u001b\[1G|\u001b\[[02]K|\u001b\[0J/g, '');
}
