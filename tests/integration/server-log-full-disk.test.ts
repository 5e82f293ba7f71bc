/**
 * The request log on a full disk, for real: the server's stdout is a file on a tiny tmpfs that the
 * test fills (ENOSPC from the kernel; needs root, skips visibly otherwise), or /dev/full (ENOSPC on
 * every write, no root needed). The server must keep answering, stay alive, say once on stderr
 * that log lines are being lost, log again once there is space, and still stop cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI_PATH, ensureCliBuilt, isolatedEnv, REPO_ROOT } from '../helpers/cli-run.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const unavailable = tmpfsUnavailableReason();
const noTmpfs = unavailable === null ? false : `tmpfs unavailable: ${unavailable}`;
const noDevFull = existsSync('/dev/full') ? false : 'no /dev/full here';

/** The child's stderr so far, and whether (and how) it has exited. */
interface Child {
  process: ChildProcess;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

const children = new Set<ChildProcess>();

function track(child: ChildProcess): Child {
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { process: child, stderr: () => stderr, exit, alive: () => !exited && child.exitCode === null };
}

/** GET `url` with a deadline; the status, or the network error's code. */
function get(url: string, timeoutMs = 5_000): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Stops the child with SIGTERM; SIGKILL after `ms`. */
async function stop(child: Child, ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.alive()) child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), ms);
  try {
    return await child.exit;
  } finally {
    clearTimeout(timer);
  }
}

/** Fills the file system `file` is on to the last byte. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    const block = Buffer.alloc(4 * KiB);
    for (;;) writeSync(fd, block);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

/**
 * Many requests, each of which the server logs (two lines: incoming, completed). Stops after three
 * failures in a row: a wedged server fails the test in seconds, not minutes.
 */
async function hammer(base: string, count: number): Promise<Array<number | string>> {
  const statuses: Array<number | string> = [];
  for (let i = 0; i < count; i++) {
    statuses.push(await get(`${base}/health`, 2_000));
    if (statuses.length >= 3 && statuses.slice(-3).every((status) => status !== 200)) break;
  }
  return statuses;
}

function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}
after(killChildren);
// A test run stopped from outside must not leave a server behind (the tmpfs helper unmounts too).
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killChildren();
    process.kill(process.pid, signal);
  });
}

describe('the request log when stdout cannot be written', () => {
  it('startServer with stdout on /dev/full: every request answered, the process alive, the loss said once', {
    skip: noDevFull,
  }, async () => {
    const work = await tempDir('chilly-log-devfull-');
    const full = openSync('/dev/full', 'w');
    // The server as src/app.ts builds it, with its default logger (info, to stdout).
    const script = `
      import { writeSync } from 'node:fs';
      import { startServer } from './src/app.ts';
      import { loadConfig } from './src/config/resolve-config.ts';
      import { MockDownloader } from './src/downloaders/mock-downloader.ts';
      const config = loadConfig({ CHILLY_DATA_DIR: ${JSON.stringify(work.dir)}, CHILLY_NETWORK: 'loopback' }, { host: '127.0.0.1', port: 0 });
      const server = await startServer({ config, downloader: new MockDownloader({ mediaRoot: config.mediaRoot }) });
      writeSync(2, 'listening ' + server.url + '\\n');
      process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
    `;
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        env: isolatedEnv(path.join(work.dir, 'home')),
        stdio: ['ignore', full, 'pipe'],
      }),
    );
    closeSync(full);
    try {
      await waitUntil(() => /listening (http:\S+)/.test(child.stderr()) || !child.alive(), {
        timeoutMs: 30_000,
        what: 'the server to listen',
      });
      const base = /listening (http:\S+)/.exec(child.stderr())?.[1];
      assert.ok(base !== undefined, `the server did not start:\n${child.stderr()}`);
      const statuses = await hammer(base, 30);
      await sleep(300);
      assert.deepEqual(statuses, Array(30).fill(200), `every request answered; stderr:\n${child.stderr()}`);
      assert.ok(child.alive(), `the server is alive; stderr:\n${child.stderr()}`);
      assert.equal(await get(`${base}/health`), 200);
      const notices = child.stderr().match(/request log/g) ?? [];
      assert.equal(notices.length, 1, `the loss is said once:\n${child.stderr()}`);
      assert.match(child.stderr(), /^chilly: the request log cannot be written to stdout \(ENOSPC: no space left/m);
      const exit = await stop(child);
      assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
    } finally {
      if (child.alive()) child.process.kill('SIGKILL');
      await work.cleanup();
    }
  });

  it('`chilly serve` with stdout on a tmpfs that fills up keeps answering /health', { skip: noTmpfs }, async () => {
    ensureCliBuilt();
    const work = await tempDir('chilly-log-tmpfs-');
    let fs: Tmpfs | undefined;
    let child: Child | undefined;
    try {
      fs = mountTmpfs(256 * KiB);
      const logFile = path.join(fs.dir, 'serve.log');
      const out = openSync(logFile, 'w');
      child = track(
        spawn(process.execPath, [CLI_PATH, 'serve'], {
          cwd: work.dir,
          env: isolatedEnv(path.join(work.dir, 'home'), {
            CHILLY_DATA_DIR: path.join(work.dir, 'data'),
            CHILLY_PORT: '0',
          }),
          stdio: ['ignore', out, 'pipe'],
        }),
      );
      closeSync(out);
      const running = child;
      await waitUntil(() => /listening on (http:\S+)/.test(readFileSync(logFile, 'utf8')) || !running.alive(), {
        timeoutMs: 60_000,
        what: '`chilly serve` to listen',
      });
      const base = /listening on (http:\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
      assert.ok(base !== undefined, `chilly serve did not start:\n${running.stderr()}`);
      assert.equal(await get(`${base}/health`), 200, 'answers before the disk is full');

      const filler = path.join(fs.dir, 'filler');
      fill(filler);
      assert.equal(fs.freeBytes(), 0, 'the tmpfs is full');

      const statuses = await hammer(base, 60);
      await sleep(300);
      assert.deepEqual(statuses, Array(60).fill(200), `every request answered; stderr:\n${running.stderr()}`);
      assert.ok(running.alive(), `chilly serve is alive; stderr:\n${running.stderr()}`);
      assert.equal(await get(`${base}/health`), 200);
      assert.equal((running.stderr().match(/request log/g) ?? []).length, 1, `said once:\n${running.stderr()}`);

      // Space comes back: so does the log.
      unlinkSync(filler);
      const before = readFileSync(logFile, 'utf8').length;
      assert.equal(await get(`${base}/health`), 200);
      await waitUntil(() => /"request completed"/.test(readFileSync(logFile, 'utf8').slice(before)), {
        timeoutMs: 5_000,
        what: 'the log to be written again',
      });

      // Full again: its "SIGTERM: closing…" line is lost too: the close goes on all the same, and the exit code
      // says that output was lost (1), without a crash.
      fill(filler);
      // The log file's last page may still have room: requests' lines take it, until a batch of
      // requests leaves the file as it was (bounded: 25 batches).
      // (Each size is read after a pause: the log is written asynchronously.)
      let size = -1;
      for (let batch = 0; batch < 25 && statSync(logFile).size !== size; batch += 1) {
        size = statSync(logFile).size;
        assert.deepEqual(await hammer(base, 20), Array(20).fill(200));
        await sleep(200);
      }
      assert.equal(statSync(logFile).size, size, 'the log file stopped growing: the disk is full');
      const exit = await stop(running);
      assert.deepEqual(exit, { code: 1, signal: null }, running.stderr());
      assert.match(running.stderr(), /^chilly: cannot write to stdout \(ENOSPC[^)]*\); output is lost\.$/m);
      assert.doesNotMatch(running.stderr(), /Node\.js v\d|^\s+at /m, 'no uncaught exception');
    } finally {
      if (child?.alive()) child.process.kill('SIGKILL');
      if (child !== undefined) await child.exit;
      fs?.unmount();
      await work.cleanup();
    }
  });
});
