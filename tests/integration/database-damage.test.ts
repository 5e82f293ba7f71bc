/**
 * A damaged database is refused at start, never opened as an empty one (issue 12, finding 6).
 *
 * The real server (tests/fixtures/server-process.ts: startServer with a MockDownloader) runs in a
 * child process on a data folder, adds jobs, and is SIGKILLed, so its WAL holds commits no
 * checkpoint has copied into chilly.db yet. Each case then damages a copy of that folder the way
 * a disk, a sync tool or a hurried user does, and starts the server on it: it must refuse with
 * `database_damaged`, say where the backup is, leave a byte-for-byte copy of the files it found,
 * and never come up with 0 jobs (or another database's jobs). The undamaged cases (clean close,
 * SIGKILL with the WAL intact, several crashes in a row) must start with every job.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import type { ServerLine, ServerProcessConfig } from '../fixtures/server-process.js';
import { forEachJsonLine } from '../helpers/json-lines.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/server-process.ts', import.meta.url));
const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const DB = 'chilly.db';

const hash = (n: number, salt: number) => (n * 7919 + salt * 104_729).toString(16).padStart(40, '0');
const JOBS_A = [1, 2, 3, 4, 5].map((n) => ({ id: `film-${n}`, infoHash: hash(n, 1) }));
const JOBS_B = [1, 2].map((n) => ({ id: `other-${n}`, infoHash: hash(n, 2) }));
const IDS_A = JOBS_A.map((job) => job.id).sort();

interface Run {
  lines: ServerLine[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

const children = new Set<ChildProcess>();

/**
 * Starts the server process on `dataDir`, adds `jobs`, then either SIGKILLs it (`end: 'kill'`) or
 * closes it cleanly (`end: 'close'`). A refused start ends by itself. Every wait is bounded.
 */
async function runServer(
  work: string,
  dataDir: string,
  jobs: ServerProcessConfig['jobs'],
  end: 'kill' | 'close' | { killAfterMs: number; keepAdding: NonNullable<ServerProcessConfig['keepAdding']> },
): Promise<Run> {
  const configPath = path.join(work, `server-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const config: ServerProcessConfig = {
    dataDir,
    jobs,
    ...(typeof end === 'object' ? { keepAdding: end.keepAdding } : {}),
  };
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, configPath], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const run: Run = { lines: [], stderr: '', code: null, signal: null };
  const closed = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      run.code = code;
      run.signal = signal;
      children.delete(child);
      resolve();
    }),
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  let killTimer: NodeJS.Timeout | undefined;
  forEachJsonLine<ServerLine>(
    child.stdout,
    (line) => {
      run.lines.push(line);
      if (line.t === 'loaded' && typeof end === 'object') {
        killTimer = setTimeout(() => child.kill('SIGKILL'), end.killAfterMs);
      }
      if (line.t !== 'ready') return;
      if (end === 'kill') child.kill('SIGKILL');
      else if (end === 'close') child.stdin?.write('close\n');
    },
    (raw) => {
      run.stderr += `[stdout] ${raw}\n`;
    },
  );
  await closed;
  clearTimeout(timer);
  clearTimeout(killTimer);
  return run;
}

function describeRun(run: Run): string {
  return `code ${run.code}, signal ${run.signal}\nlines:\n${run.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${run.stderr.slice(-3_000)}`;
}

function started(run: Run): string[] | undefined {
  const line = run.lines.find((l) => l.t === 'started');
  return line?.t === 'started' ? [...line.jobs].sort() : undefined;
}

/** What the files looked like before the start, to compare with the backup. */
function snapshot(dataDir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of [DB, `${DB}-wal`, `${DB}-shm`, `${DB}-guard`]) {
    const file = path.join(dataDir, name);
    if (existsSync(file)) files.set(name, readFileSync(file));
  }
  return files;
}

/** The start was refused as damage, the message says what to do, and the backup holds the files as they were. */
function assertRefusedWithBackup(run: Run, dataDir: string, before: Map<string, Buffer>, problem: RegExp): string {
  const jobs = started(run);
  assert.equal(
    jobs,
    undefined,
    `the server started on the damaged database with ${jobs?.length} jobs (${jobs?.join(', ')})\n${describeRun(run)}`,
  );
  const refused = run.lines.find((l) => l.t === 'refused');
  assert.ok(refused?.t === 'refused', `no refusal\n${describeRun(run)}`);
  assert.equal(refused.code, 'database_damaged', describeRun(run));
  assert.equal(run.code, 1, describeRun(run));
  assert.match(refused.message, problem);
  assert.ok(refused.message.includes(path.join(dataDir, DB)), `the message names the file: ${refused.message}`);
  assert.match(refused.message, /\.recover/, 'the message says how to salvage');

  const recovery = path.join(dataDir, 'recovery');
  const backups = existsSync(recovery) ? readdirSync(recovery) : [];
  assert.equal(backups.length, 1, `one backup folder in ${recovery}: ${backups.join(', ')}`);
  const backup = path.join(recovery, backups[0] ?? '');
  assert.ok(refused.message.includes(backup), `the message names the backup ${backup}: ${refused.message}`);
  assert.deepEqual(readdirSync(backup).sort(), [...before.keys()].sort(), 'the backup holds the files that were there');
  for (const [name, bytes] of before) {
    const copy = path.join(backup, name);
    assert.ok(existsSync(copy), `${name} is in the backup`);
    assert.ok(readFileSync(copy).equals(bytes), `${name} in the backup is the file as it was found`);
  }
  // The damaged files themselves are left as they were (nothing checkpointed or deleted them).
  for (const [name, bytes] of before) {
    if (name.endsWith('-shm')) continue; // SQLite rewrites the index when it reads the WAL.
    assert.ok(readFileSync(path.join(dataDir, name)).equals(bytes), `${name} was left as it was`);
  }
  for (const name of [`${DB}-wal`, `${DB}-shm`]) {
    if (!before.has(name)) assert.equal(existsSync(path.join(dataDir, name)), false, `no ${name} was left behind`);
  }
  return refused.message;
}

function assertStartedWithAll(run: Run, ids: string[]): void {
  assert.deepEqual(started(run), ids, describeRun(run));
  assert.equal(run.code, 0, describeRun(run));
}

/** Jobs a copy of chilly.db alone (without its WAL) holds: 0 means the jobs live only in the WAL. */
function jobsInMainFileAlone(work: string, dataDir: string): number {
  const dir = path.join(work, `alone-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  try {
    cpSync(path.join(dataDir, DB), path.join(dir, DB));
    const db = new Database(path.join(dir, DB));
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").get();
      return table === undefined ? 0 : (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function integrityOfCopy(work: string, dataDir: string): string {
  const dir = path.join(work, `integrity-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  try {
    for (const name of [DB, `${DB}-wal`]) {
      if (existsSync(path.join(dataDir, name))) cpSync(path.join(dataDir, name), path.join(dir, name));
    }
    const db = new Database(path.join(dir, DB), { readonly: true });
    try {
      return (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
        .map((r) => r.integrity_check)
        .join('; ');
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function walPageSize(wal: string): number {
  return readFileSync(wal).readUInt32BE(8);
}

describe('a damaged database is refused at start, with a backup', { timeout: 300_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  /** SIGKILLed after adding JOBS_A: the jobs are in the WAL only. */
  let crashedA: string;
  /** Another database (JOBS_B), SIGKILLed too. */
  let crashedB: string;
  /** JOBS_A, closed cleanly: everything checkpointed into chilly.db, no WAL. */
  let closedA: string;
  let caseNumber = 0;

  const copyOf = (seed: string): string => {
    caseNumber += 1;
    const dir = path.join(work.dir, `case-${caseNumber}`);
    cpSync(seed, dir, { recursive: true });
    return dir;
  };

  before(async () => {
    work = await tempDir('chilly-damage-');
    crashedA = path.join(work.dir, 'crashed-a');
    crashedB = path.join(work.dir, 'crashed-b');
    closedA = path.join(work.dir, 'closed-a');
    const runs = await Promise.all([
      runServer(work.dir, crashedA, JOBS_A, 'kill'),
      runServer(work.dir, crashedB, JOBS_B, 'kill'),
      runServer(work.dir, closedA, JOBS_A, 'close'),
    ]);
    for (const run of runs)
      assert.ok(
        run.lines.some((l) => l.t === 'ready'),
        describeRun(run),
      );
    for (const dir of [crashedA, crashedB]) {
      assert.ok(statSync(path.join(dir, `${DB}-wal`)).size > 0, `${dir}: the crash left a WAL`);
    }
    assert.equal(jobsInMainFileAlone(work.dir, crashedA), 0, 'the jobs are only in the WAL');
    assert.equal(existsSync(path.join(closedA, `${DB}-wal`)), false, 'a clean close leaves no WAL');
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await work?.cleanup();
  });

  it('starts with every job after a clean close', async () => {
    const dir = copyOf(closedA);
    assertStartedWithAll(await runServer(work.dir, dir, [], 'close'), IDS_A);
    assert.equal(existsSync(path.join(dir, 'recovery')), false, 'no backup is left when nothing is wrong');
  });

  it('starts with every job after a SIGKILL, with the WAL intact, again and again', async () => {
    const dir = copyOf(crashedA);
    for (let round = 0; round < 2; round++) {
      const run = await runServer(work.dir, dir, [], 'kill');
      assert.deepEqual(started(run), IDS_A, `round ${round}: ${describeRun(run)}`);
    }
    assertStartedWithAll(await runServer(work.dir, dir, [], 'close'), IDS_A);
    assert.equal(existsSync(path.join(dir, 'recovery')), false, 'no backup is left when nothing is wrong');
  });

  /** Snapshots the damaged files, starts the server on them, and checks the refusal and the backup. */
  const expectRefusal = async (t: TestContext, dir: string, problem: RegExp): Promise<void> => {
    const before = snapshot(dir);
    const message = assertRefusedWithBackup(await runServer(work.dir, dir, [], 'close'), dir, before, problem);
    t.diagnostic(message.split('\n')[0] ?? '');
  };
  const WAL_PROBLEM = /write-ahead log chilly\.db-wal/;

  it('never refuses after SIGKILLs at random moments (seeded), and loses no job it reported added', async (t) => {
    const seed = Number(process.env.CHILLY_DAMAGE_SEED ?? 612);
    t.diagnostic(`kill schedule seed ${seed} (CHILLY_DAMAGE_SEED=${seed} replays it)`);
    const random = mulberry32(seed);
    const dir = copyOf(crashedA);
    const known = new Set(IDS_A);
    for (let round = 0; round < 8; round++) {
      // From the moment the database is about to be opened to well into the adds.
      const killAfterMs = Math.floor(random() * 1_200);
      const run = await runServer(work.dir, dir, [], { killAfterMs, keepAdding: { everyMs: 20, hashSalt: 3 } });
      assert.equal(run.signal, 'SIGKILL', `round ${round}: ${describeRun(run)}`);
      assert.equal(
        run.lines.find((l) => l.t === 'refused' || l.t === 'fatal'),
        undefined,
        `round ${round}: ${describeRun(run)}`,
      );
      const jobs = started(run);
      for (const id of jobs === undefined ? [] : known) {
        assert.ok(jobs?.includes(id), `round ${round}: ${id} was added before, and is gone`);
      }
      const added = run.lines.flatMap((l) => (l.t === 'added' ? [l.id] : []));
      for (const id of added) known.add(id);
      t.diagnostic(
        `round ${round}: SIGKILL ${killAfterMs} ms after the modules loaded: ${jobs === undefined ? 'before the server started' : `started with ${jobs.length} jobs, added ${added.length}`}`,
      );
    }
    const last = await runServer(work.dir, dir, [], 'close');
    assert.equal(last.code, 0, describeRun(last));
    const jobs = started(last) ?? [];
    for (const id of known) assert.ok(jobs.includes(id), `${id} survived every crash`);
    assert.equal(existsSync(path.join(dir, 'recovery')), false, 'no backup was ever made');
  });

  it('refuses when the WAL was deleted after a crash', async (t) => {
    const dir = copyOf(crashedA);
    rmSync(path.join(dir, `${DB}-wal`));
    await expectRefusal(t, dir, WAL_PROBLEM);
  });

  it('refuses when the WAL was deleted with its -shm index', async (t) => {
    const dir = copyOf(crashedA);
    rmSync(path.join(dir, `${DB}-wal`));
    rmSync(path.join(dir, `${DB}-shm`));
    await expectRefusal(t, dir, /not closed cleanly.*missing/);
  });

  it('refuses when the WAL was truncated to half its size', async (t) => {
    const dir = copyOf(crashedA);
    const wal = path.join(dir, `${DB}-wal`);
    truncateSync(wal, Math.floor(statSync(wal).size / 2));
    await expectRefusal(t, dir, WAL_PROBLEM);
  });

  it('refuses when the WAL was truncated at a frame boundary', async (t) => {
    const dir = copyOf(crashedA);
    const wal = path.join(dir, `${DB}-wal`);
    const frame = 24 + walPageSize(wal);
    const frames = Math.floor((statSync(wal).size - 32) / frame);
    truncateSync(wal, 32 + Math.floor(frames / 2) * frame);
    await expectRefusal(t, dir, /cut short/);
  });

  it('refuses when the WAL was truncated to 0 bytes', async (t) => {
    const dir = copyOf(crashedA);
    truncateSync(path.join(dir, `${DB}-wal`), 0);
    await expectRefusal(t, dir, /empty/);
  });

  for (const withIndex of [true, false]) {
    it(`refuses when 64 bytes in the middle of the WAL are corrupted${withIndex ? '' : ', even without its -shm index'}`, async (t) => {
      const dir = copyOf(crashedA);
      const wal = path.join(dir, `${DB}-wal`);
      const bytes = readFileSync(wal);
      const middle = Math.floor(bytes.length / 2);
      for (let i = middle; i < middle + 64; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      writeFileSync(wal, bytes);
      if (!withIndex) rmSync(path.join(dir, `${DB}-shm`));
      await expectRefusal(t, dir, WAL_PROBLEM);
    });
  }

  it("refuses another database's WAL put in place of its own", async (t) => {
    const dir = copyOf(crashedA);
    cpSync(path.join(crashedB, `${DB}-wal`), path.join(dir, `${DB}-wal`));
    await expectRefusal(t, dir, /another database/);
  });

  it("refuses another database's WAL even without the -shm index to compare it with", async (t) => {
    const dir = copyOf(crashedA);
    cpSync(path.join(crashedB, `${DB}-wal`), path.join(dir, `${DB}-wal`));
    rmSync(path.join(dir, `${DB}-shm`));
    await expectRefusal(t, dir, /another database/);
  });

  it('refuses a 0-byte chilly.db after a crash (SQLite would delete the WAL)', async (t) => {
    const dir = copyOf(crashedA);
    truncateSync(path.join(dir, DB), 0);
    await expectRefusal(t, dir, /empty \(0 bytes\)/);
    assert.ok(existsSync(path.join(dir, `${DB}-wal`)), 'the WAL is still there');
  });

  it('refuses a 0-byte chilly.db after a clean close', async (t) => {
    const dir = copyOf(closedA);
    truncateSync(path.join(dir, DB), 0);
    await expectRefusal(t, dir, /empty \(0 bytes\)/);
  });

  it('refuses a checkpointed database with two corrupted pages', async (t) => {
    const dir = copyOf(closedA);
    const file = path.join(dir, DB);
    const scratch = path.join(work.dir, `pages-${caseNumber}`);
    mkdirSync(scratch);
    cpSync(file, path.join(scratch, DB));
    const probe = new Database(path.join(scratch, DB), { readonly: true });
    const pageSize = Number(probe.pragma('page_size', { simple: true }));
    // Pages the start does not read: the server would come up as if nothing were wrong.
    const roots = probe
      .prepare<[], { rootpage: number }>(
        "SELECT rootpage FROM sqlite_master WHERE name IN ('metadata_cache_expires_at', 'movie_links_tmdb_id')",
      )
      .all()
      .map((row) => row.rootpage);
    probe.close();
    assert.equal(roots.length, 2);
    const bytes = readFileSync(file);
    for (const page of roots) bytes.fill(0x5a, (page - 1) * pageSize, page * pageSize);
    writeFileSync(file, bytes);
    assert.notEqual(integrityOfCopy(work.dir, dir), 'ok', 'integrity_check sees the damage');
    await expectRefusal(t, dir, /quick_check/);
  });

  it('`chilly serve` prints the refusal without a stack trace and exits 1', async () => {
    const dir = copyOf(crashedA);
    rmSync(path.join(dir, `${DB}-wal`));
    const home = path.join(work.dir, 'home');
    mkdirSync(home, { recursive: true });
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
        CHILLY_DATA_DIR: dir,
        CHILLY_NETWORK: 'loopback',
        CHILLY_PORT: '0',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The old behaviour: it starts. Stop it rather than wait for the deadline.
      if (/listening on/.test(stdout)) child.kill('SIGKILL');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    children.delete(child);
    assert.equal(code, 1, `exit code\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stderr, /^chilly: database_damaged: /m);
    assert.ok(stderr.includes(path.join(dir, 'recovery')), stderr);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(stdout, /listening/);
  });

  it('creates the data folder 0700 and the database files 0600; leaves a folder the user made as it is', {
    skip: process.platform === 'win32' ? 'POSIX modes' : false,
  }, async () => {
    const fresh = path.join(work.dir, 'modes', 'new', 'data');
    const made = path.join(work.dir, 'modes', 'made');
    mkdirSync(made, { recursive: true });
    chmodSync(made, 0o755);
    for (const dataDir of [fresh, made]) {
      const server = await startServer({
        // CHILLY_TOKEN: no token file, so the data folder is not made by the token code.
        config: loadConfig({
          CHILLY_DATA_DIR: dataDir,
          CHILLY_NETWORK: 'loopback',
          CHILLY_PORT: '0',
          CHILLY_TOKEN: 'a-token-of-at-least-16-chars',
        }),
        downloader: new MockDownloader(),
        logger: false,
      });
      try {
        await server.service.add({ id: 'mode', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${hash(9, 9)}` });
        for (const name of [DB, `${DB}-wal`, `${DB}-shm`, `${DB}-guard`]) {
          const mode = statSync(path.join(dataDir, name)).mode & 0o777;
          assert.equal(mode.toString(8), '600', `${dataDir}/${name}`);
        }
      } finally {
        await server.close();
      }
    }
    assert.equal((statSync(fresh).mode & 0o777).toString(8), '700', 'a data folder the server makes');
    assert.equal((statSync(made).mode & 0o777).toString(8), '755', 'a data folder the user made is left alone');
  });
});
