/**
 * The built `chilly` command against a real server (startServer: SQLite, WebTorrent, loopback
 * only) and loopback swarms: add → done byte for byte, ls, status, pause, resume, cancel,
 * --json, and the exit codes and messages of bad input.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, runChilly, startChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DIRECT_FILM = Buffer.alloc(300 * KiB, 'direct film ');

async function assertFilesMatch(swarm: LoopbackSwarm, savePath: string | undefined): Promise<void> {
  assert.ok(savePath !== undefined, 'the job has a save path');
  for (const file of swarm.files) {
    assert.equal(await sha256File(path.join(savePath, file.path)), file.sha256, `content of ${file.path}`);
  }
}

describe('chilly (built) against a running server', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: RunningServer;
  let env: Record<string, string>;
  let fast: LoopbackSwarm;
  let upload: LoopbackSwarm;
  let fromUrl: LoopbackSwarm;
  let slow: LoopbackSwarm;
  let files: http.Server | undefined;
  let filesPort = 0;

  const chilly = (args: string[], extraEnv: Record<string, string> = {}) =>
    runChilly(args, { env: { ...env, ...extraEnv }, cwd: work.dir, timeoutMs: 60_000 });
  const jobOf = (id: string): Job => server.service.get(id);
  const waitForStatus = (id: string, statuses: string[], timeoutMs = 30_000) =>
    waitUntil(
      () => {
        try {
          return statuses.includes(jobOf(id).status);
        } catch {
          return false;
        }
      },
      { timeoutMs, what: `${id} to be ${statuses.join(' or ')}` },
    );

  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-cli-');
    const dataDir = path.join(work.dir, 'data');
    const config = loadConfig({ CHILLY_DATA_DIR: dataDir, CHILLY_NETWORK: 'loopback', CHILLY_PORT: '0' });
    server = await startServer({ config, logger: false });
    const port = new URL(server.url).port;
    env = isolatedEnv(path.join(work.dir, 'home'), { CHILLY_DATA_DIR: dataDir, CHILLY_PORT: port });
    [fast, upload, fromUrl, slow] = await Promise.all([
      createLoopbackSwarm({ name: 'Cli.Fast.2001.mkv', files: [{ path: 'Cli.Fast.2001.mkv', size: 1 * MiB }] }),
      createLoopbackSwarm({
        name: 'cli-upload',
        files: [
          { path: 'movie.mkv', size: 700 * KiB },
          { path: 'subs/en.srt', size: 3 * KiB },
        ],
      }),
      createLoopbackSwarm({ name: 'cli-url.bin', files: [{ path: 'cli-url.bin', size: 256 * KiB }] }),
      // Slow enough to stay in flight while the test pauses, resumes and cancels it.
      createLoopbackSwarm({
        name: 'cli-slow.bin',
        files: [{ path: 'cli-slow.bin', size: 8 * MiB }],
        pieceLength: 16 * KiB,
        uploadLimit: 64 * KiB,
      }),
    ]);
    // Serves the URL swarm's .torrent, for `chilly add http://…`.
    files = http.createServer((request, response) => {
      if (request.url === '/film.torrent') {
        response.writeHead(200, { 'content-type': 'application/x-bittorrent' });
        response.end(fromUrl.torrentFile);
      } else if (request.url === '/Direct.Film.1950.mp4') {
        response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': DIRECT_FILM.length });
        response.end(DIRECT_FILM);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => files?.listen(0, '127.0.0.1', () => resolve()));
    const address = files.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    filesPort = address.port;
  });

  after(async () => {
    killAllCli();
    await new Promise<void>((resolve) => (files === undefined ? resolve() : files.close(() => resolve())));
    await server?.close();
    await Promise.all([fast, upload, fromUrl, slow].map((swarm) => swarm?.close()));
    await work?.cleanup();
  });

  it('add <magnet> follows the download to the end with plain lines (no TTY), then the files match', async () => {
    const result = await chilly(['add', fast.magnetURI]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Added cli-fast-2001 \(Cli\.Fast\.2001\.mkv\)\./m);
    assert.match(result.stdout, /^Done: Cli\.Fast\.2001\.mkv \(1\.0 MiB\) in .*cli-fast-2001$/m);
    assert.equal(result.stdout.includes('\u001b'), false, 'no ANSI escapes when stdout is not a terminal');
    const job = jobOf('cli-fast-2001');
    assert.equal(job.status, 'completed');
    await assertFilesMatch(fast, job.savePath);
  });

  it('add <file.torrent> --detach --json uploads the file and prints the job; adding it again is a no-op', async () => {
    const result = await chilly(['add', upload.torrentPath, '--id', 'up-1', '--detach', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout) as Job;
    assert.equal(job.id, 'up-1');
    assert.equal(job.infoHash, upload.infoHash);
    assert.equal(job.sourceUrn, `torrent:${upload.infoHash}`);
    await waitForStatus('up-1', ['completed']);
    await assertFilesMatch(upload, jobOf('up-1').savePath);

    const again = await chilly(['add', upload.torrentPath, '--id', 'up-1', '--detach']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^up-1 \(cli-upload\) was already added\./m);
  });

  it('open --print prints one line, the sign-in link, whose code signs a browser in once', async () => {
    const printed = await chilly(['open', '--print']);
    assert.equal(printed.code, 0, printed.stderr);
    const lines = printed.stdout.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, printed.stdout);
    const link = new URL(lines[0] ?? '');
    assert.equal(link.origin, server.url);
    const code = /^#signin=([A-Za-z0-9_-]+)$/.exec(link.hash)?.[1];
    assert.ok(code !== undefined, link.href);
    const signIn = () =>
      fetch(`${server.url}/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    const first = await signIn();
    assert.equal(first.status, 204);
    assert.match(first.headers.get('set-cookie') ?? '', /^chilly_session=.*HttpOnly; SameSite=Strict/);
    assert.equal((await signIn()).status, 401, 'the code works once');
  });

  it('add --direct <http URL> has the server download the file itself (sourceType http)', async () => {
    const result = await chilly(['add', '--direct', `http://127.0.0.1:${filesPort}/Direct.Film.1950.mp4`, '--detach']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Added direct-film-1950/m);
    await waitForStatus('direct-film-1950', ['completed']);
    const job = jobOf('direct-film-1950');
    assert.equal(job.sourceType, 'http');
    assert.deepEqual(await readFile(path.join(job.savePath ?? '', job.files?.[0]?.path ?? '')), DIRECT_FILM);
    const notUrl = await chilly(['add', '--direct', `magnet:?xt=urn:btih:${'ab'.repeat(20)}`]);
    assert.equal(notUrl.code, 2, notUrl.stderr);
  });

  it('add <http URL> downloads the .torrent on the client side and uploads it', async () => {
    const url = `http://127.0.0.1:${filesPort}/film.torrent`;
    const result = await chilly(['add', url, '--detach']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Added cli-url-bin \(cli-url\.bin\)\./m);
    await waitForStatus('cli-url-bin', ['completed']);
    await assertFilesMatch(fromUrl, jobOf('cli-url-bin').savePath);

    const missing = await chilly(['add', `http://127.0.0.1:${filesPort}/nothing.torrent`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /torrent_file_unreadable: Cannot download .*HTTP 404/);
  });

  it('ls prints a table, and --json an array that --status filters', async () => {
    const table = await chilly(['ls']);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...lines] = table.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+STATUS\s+DONE\s+SIZE\s+DOWN\s+UP\s+PEERS\s+ETA\s+NAME$/);
    for (const id of ['cli-fast-2001', 'up-1', 'cli-url-bin']) {
      assert.ok(
        // A finished download that still uploads says so.
        lines.some((line) => new RegExp(`^${id}\\s+(completed|seeding)\\s+100\\.0%`).test(line)),
        `${id} in:\n${table.stdout}`,
      );
    }

    const json = await chilly(['ls', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const jobs = JSON.parse(json.stdout) as Job[];
    assert.deepEqual(jobs.map((job) => job.id).sort(), ['cli-fast-2001', 'cli-url-bin', 'direct-film-1950', 'up-1']);

    const none = await chilly(['ls', '--status', 'paused,error', '--json']);
    assert.deepEqual(JSON.parse(none.stdout), []);
    const limited = await chilly(['list', '--limit', '2', '--json']);
    assert.equal((JSON.parse(limited.stdout) as Job[]).length, 2);
  });

  it('status <id> prints a card, and --json the job', async () => {
    const card = await chilly(['status', 'up-1']);
    assert.equal(card.code, 0, card.stderr);
    assert.match(card.stdout, /^status {5}completed$/m);
    assert.match(card.stdout, /^progress {3}100\.0% of 703 KiB \(703 KiB done\)$/m);
    assert.match(card.stdout, /^files {6}2$/m);
    assert.match(card.stdout, /cli-upload\/subs\/en\.srt \(3\.0 KiB\)/);

    const json = await chilly(['status', 'up-1', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const job = JSON.parse(json.stdout) as Job;
    assert.equal(job.status, 'completed');
    assert.equal(job.progress.fraction, 1);
  });

  it('pause, resume and cancel a download in flight', async () => {
    const added = await chilly(['add', slow.magnetURI, '--id', 'slow', '--detach']);
    assert.equal(added.code, 0, added.stderr);
    await waitForStatus('slow', ['downloading']);

    const paused = await chilly(['pause', 'slow']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout.trim(), 'Paused slow.');
    assert.equal(jobOf('slow').status, 'paused');

    const twice = await chilly(['pause', 'slow']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /^chilly: invalid_transition: /m);

    const resumed = await chilly(['resume', 'slow', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(['queued', 'verifying', 'downloading'].includes((JSON.parse(resumed.stdout) as Job).status));

    const savePath = jobOf('slow').savePath;
    assert.ok(savePath !== undefined);
    await waitUntil(() => existsSync(savePath), { what: 'partial data on disk' });
    const cancelled = await chilly(['cancel', 'slow', '--delete-data', '--json']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal((JSON.parse(cancelled.stdout) as Job).status, 'cancelled');
    assert.equal(existsSync(savePath), false, 'the partial data is deleted');

    const gone = await chilly(['status', 'slow']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^chilly: job_not_found: /m);
  });

  it('Ctrl-C while following stops watching (exit 130) and leaves the download running', async () => {
    const follower = startChilly(['add', slow.magnetURI, '--id', 'slow-follow'], { env, cwd: work.dir });
    await follower.waitForOutput(/^slow-follow: downloading/m);
    follower.child.kill('SIGINT');
    const result = await follower.exited(20_000);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /Stopped following slow-follow; the server keeps downloading it/);
    // Still at work (a magnet checks its data once the metadata arrives), not paused.
    assert.ok(['downloading', 'verifying'].includes(jobOf('slow-follow').status), jobOf('slow-follow').status);
    const cancelled = await chilly(['cancel', 'slow-follow']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
  });

  it('bad input: unknown ids and API errors exit 1 with the code, bad usage exits 2', async () => {
    const unknown = await chilly(['status', 'no-such-job']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /^chilly: job_not_found: No job with id "no-such-job"/m);
    for (const command of ['pause', 'resume', 'cancel']) {
      const result = await chilly([command, 'no-such-job']);
      assert.equal(result.code, 1, command);
      assert.match(result.stderr, /job_not_found/, command);
    }

    const badMagnet = await chilly(['add', 'magnet:?xt=urn:btih:not-a-hash']);
    assert.equal(badMagnet.code, 1);
    assert.match(badMagnet.stderr, /^chilly: invalid_magnet: /m);

    const usage: Array<[string[], RegExp]> = [
      [['add', 'no-such-file.torrent'], /is not a magnet URI, an info-hash, an http\(s\) URL or an existing \.torrent/],
      [['add', fast.magnetURI, '--id', '../escape'], /invalid_job_id: Invalid job id/],
      [['add', 'ftp://127.0.0.1/x.torrent'], /only http\(s\) URLs/],
      [['add'], /missing required argument 'source'/],
      [['status'], /missing required argument 'id'/],
      [['ls', '--limit', '0'], /--limit must be a whole number/],
      [['ls', '--status', 'sleeping'], /Unknown status "sleeping"/],
      [['cancel', 'x', '--keep-data', '--delete-data'], /cannot be used with option '--delete-data'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['ls', '--bogus'], /unknown option '--bogus'/],
      [['ls', '--port', 'eighty'], /Invalid --port "eighty": expected an integer from 0 to 65535/],
    ];
    for (const [args, message] of usage) {
      const result = await chilly(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
  });

  it('explains a server that is not running and a token that does not match', async () => {
    const down = await chilly(['ls'], { CHILLY_PORT: String(await freeLoopbackPort()) });
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /Cannot reach the Chilly Movies server at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
    );
    assert.match(down.stderr, /Is `chilly serve` running\?/);

    const wrong = await chilly(['ls'], { CHILLY_TOKEN: 'not-the-servers-token-at-all' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^chilly: unauthorized: .*is it running with another data folder\?/m);

    const elsewhere = await chilly(['ls'], { CHILLY_DATA_DIR: path.join(work.dir, 'another-data-dir') });
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /A server answers at .* but there is no API token at .*another-data-dir/);
  });

  it('token prints the token from the data folder; doctor finds the server', async () => {
    const token = await chilly(['token']);
    assert.equal(token.code, 0, token.stderr);
    const file = path.join(env.CHILLY_DATA_DIR ?? '', 'api-token');
    assert.equal(token.stdout, `${(await readFile(file, 'utf8')).trim()}\n`);
    const json = JSON.parse((await chilly(['token', '--json'])).stdout) as { token: string; file: string };
    assert.equal(json.file, file);

    const doctor = await chilly(['doctor']);
    assert.match(doctor.stdout, /^✓ server: running at http:\/\/127\.0\.0\.1:\d+ .*the token works$/m);
    assert.match(doctor.stdout, /^✓ data folder: .* is writable$/m);
    assert.match(
      doctor.stdout,
      /^✓ engine: webtorrent 2\.8\.5 \((bundled|from node_modules)\) with all 9 patches and 2 pins$/m,
    );
    assert.match(doctor.stdout, /^! TMDB: no API key/m);
    // The server keeps its torrent port in the data folder, and doctor finds it accepting.
    const port = (await readFile(path.join(env.CHILLY_DATA_DIR ?? '', 'torrent-port'), 'utf8')).trim();
    assert.match(doctor.stdout, new RegExp(`^✓ torrent port: ${port}: bound and accepting connections`, 'm'));
    const checks = JSON.parse((await chilly(['doctor', '--json'])).stdout) as Array<{ check: string; level: string }>;
    assert.ok(checks.some((check) => check.check === 'server' && check.level === 'ok'));
  });
});
