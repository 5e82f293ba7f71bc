/**
 * `chilly download` (built): the engine inside the CLI process, no server, on loopback swarms.
 * Runs to completion byte for byte; Ctrl-C pauses, keeps the data, and the same command continues.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Job } from '../../src/domain/job.js';
import { ensureCliBuilt, isolatedEnv, killAllCli, runChilly, startChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function assertFilesMatch(swarm: LoopbackSwarm, folder: string): Promise<void> {
  for (const file of swarm.files) {
    assert.equal(await sha256File(path.join(folder, file.path)), file.sha256, `content of ${file.path}`);
  }
}

describe('chilly download (built, embedded engine)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  const swarms: LoopbackSwarm[] = [];
  before(async () => {
    ensureCliBuilt();
    work = await tempDir('chilly-download-');
    // No data folder is needed: nothing here talks to a server.
    env = isolatedEnv(path.join(work.dir, 'home'));
  });
  after(async () => {
    killAllCli();
    await Promise.all(swarms.map((swarm) => swarm.close()));
    await work?.cleanup();
  });

  it('downloads a magnet into <out>/<id>/ and exits 0 when done', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Embedded.Film.1999.mkv',
      files: [{ path: 'Embedded.Film.1999.mkv', size: 2 * MiB }],
    });
    swarms.push(swarm);
    const out = path.join(work.dir, 'out');
    const result = await runChilly(['download', swarm.magnetURI, '--out', out], { env, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const folder = path.join(out, 'embedded-film-1999');
    assert.match(
      result.stdout,
      /^Downloading Embedded\.Film\.1999\.mkv into .*embedded-film-1999 \(network: loopback only\)$/m,
    );
    assert.match(result.stdout, /^embedded-film-1999: downloading/m);
    assert.match(result.stdout, /^ {2}.*Embedded\.Film\.1999\.mkv \(2\.0 MiB\)$/m);
    assert.match(result.stdout, /^Done: Embedded\.Film\.1999\.mkv \(2\.0 MiB\) in /m);
    assert.equal(result.stdout.includes('\u001b'), false, 'no ANSI escapes when stdout is not a terminal');
    await assertFilesMatch(swarm, folder);
  });

  it('downloads a multi-file .torrent with --id and --json, printing the finished job', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'embedded-pack',
      files: [
        { path: 'a.mkv', size: 600 * KiB },
        { path: 'extras/b.mkv', size: 300 * KiB },
      ],
    });
    swarms.push(swarm);
    const result = await runChilly(['download', swarm.torrentPath, '--id', 'pack', '--json', '-o', 'out2'], {
      env,
      cwd: work.dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout) as Job;
    assert.equal(job.status, 'completed');
    assert.equal(job.savePath, path.join(work.dir, 'out2', 'pack'));
    await assertFilesMatch(swarm, job.savePath ?? '');
  });

  it('Ctrl-C pauses and keeps the partial data (exit 130); the same command then finishes the download', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'embedded-slow.bin',
      files: [{ path: 'embedded-slow.bin', size: 4 * MiB }],
      pieceLength: 16 * KiB,
      seeder: false,
    });
    swarms.push(swarm);
    await swarm.startSeeder({ uploadLimit: 128 * KiB });
    const out = path.join(work.dir, 'out3');
    const args = ['download', swarm.magnetURI, '--out', out];

    const first = startChilly(args, { env });
    await first.waitForOutput(/^embedded-slow-bin: downloading/m);
    const partial = path.join(out, 'embedded-slow-bin', 'embedded-slow.bin');
    await waitUntil(() => existsSync(partial) && statSync(partial).size > 0, { what: 'some data on disk' });
    first.child.kill('SIGINT');
    const stopped = await first.exited(20_000);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(
      stopped.stderr,
      /^Paused\. .* kept in .*embedded-slow-bin; run the same command again to continue\.$/m,
    );
    assert.ok(existsSync(partial), 'the partial data stays');

    await swarm.startSeeder(); // unthrottled now
    const second = await runChilly(args, { env, timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^Done: /m);
    await assertFilesMatch(swarm, path.join(out, 'embedded-slow-bin'));
  });

  it('bad sources are usage errors (2) or the engine error code (1)', async () => {
    const missing = await runChilly(['download', 'missing.torrent'], { env, cwd: work.dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /"missing\.torrent" is not a magnet URI/);
    const badMagnet = await runChilly(['download', 'magnet:?dn=nothing'], { env, cwd: work.dir });
    assert.equal(badMagnet.code, 1);
    assert.match(badMagnet.stderr, /^chilly: invalid_magnet: /m);
  });
});
