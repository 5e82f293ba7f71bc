/**
 * openDatabase's guard and start-up checks (src/storage/database.ts, database-guard.ts,
 * database-integrity.ts) in-process, on real SQLite files: what the guard says through a
 * database's life, the states a crash can leave it in, a live owner, an unreadable guard, a
 * database from before the guard, closing at process exit, and how long quick_check takes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isChillyError } from '../../src/domain/errors.js';
import { openDatabase } from '../../src/storage/database.js';
import { currentBootId, type DatabaseGuard, readGuard, writeGuard } from '../../src/storage/database-guard.js';
import { probeDatabase } from '../../src/storage/database-integrity.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATABASE_MODULE = fileURLToPath(new URL('../../src/storage/database.ts', import.meta.url));

function guardOf(file: string): DatabaseGuard {
  const reading = readGuard(`${file}-guard`);
  assert.equal(reading.kind, 'ok', JSON.stringify(reading));
  return (reading as { guard: DatabaseGuard }).guard;
}

function instanceOf(db: Database.Database): string | undefined {
  return db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'instance_id'").get()?.value;
}

/** A pid that no process has now (a child that has exited). */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', ''], { timeout: 10_000 });
  assert.ok(result.pid !== undefined && result.pid > 0);
  return result.pid;
}

/** Rewrites the guard as a crashed process (another pid, another boot) would have left it. */
function leaveGuardAs(file: string, state: DatabaseGuard['state'], instanceId = guardOf(file).instanceId): void {
  writeFileSync(
    `${file}-guard`,
    JSON.stringify({
      version: 1,
      instanceId,
      state,
      pid: deadPid(),
      bootId: 'a-boot-long-gone',
      updatedAt: new Date().toISOString(),
    } satisfies DatabaseGuard),
  );
}

function expectDamaged(file: string, problem: RegExp): string {
  let message = '';
  assert.throws(
    () => openDatabase(file),
    (error: unknown) => {
      assert.ok(isChillyError(error, 'database_damaged'), String(error));
      message = error.message;
      return true;
    },
  );
  assert.match(message, problem);
  const backups = readdirSync(path.join(path.dirname(file), 'recovery'));
  assert.ok(backups.length >= 1, 'a backup folder');
  return message;
}

describe('openDatabase: guard and start-up checks', () => {
  let dir: string;
  let n = 0;
  const fresh = (): string => {
    n += 1;
    return path.join(dir, `case-${n}`, 'chilly.db');
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chilly-integrity-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(':memory: still works, with the meta table and an instance id', () => {
    const db = openDatabase(':memory:');
    assert.equal(Number(db.pragma('user_version', { simple: true })), MIGRATIONS.length);
    assert.match(instanceOf(db) ?? '', /^[0-9a-f]{32}$/);
    db.close();
  });

  it('a new database: file 0600, guard open while open and closed after, same instance id as the database', () => {
    const file = fresh();
    const db = openDatabase(file);
    if (process.platform !== 'win32') {
      assert.equal((statSync(file).mode & 0o777).toString(8), '600');
      assert.equal((statSync(path.dirname(file)).mode & 0o777).toString(8), '700');
    }
    const open = guardOf(file);
    assert.equal(open.state, 'open');
    assert.equal(open.pid, process.pid);
    assert.equal(open.instanceId, instanceOf(db));
    db.close();
    assert.equal(guardOf(file).state, 'closed');
    assert.equal(existsSync(`${file}-wal`), false, 'the close folded the WAL in');
    const again = openDatabase(file);
    assert.equal(instanceOf(again), open.instanceId, 'the instance id is made once');
    again.close();
  });

  it('a second connection in the same process: the guard says closed only once the last one closes', () => {
    const file = fresh();
    const first = openDatabase(file);
    const second = openDatabase(file);
    first.close();
    assert.equal(guardOf(file).state, 'open');
    second.close();
    assert.equal(guardOf(file).state, 'closed');
    second.close(); // Idempotent, as better-sqlite3's own close.
  });

  it('a crash during the close (guard "closing", WAL gone) starts normally', () => {
    const file = fresh();
    openDatabase(file).close();
    leaveGuardAs(file, 'closing');
    openDatabase(file).close();
    assert.equal(guardOf(file).state, 'closed');
  });

  it('not closed cleanly and no WAL: refused, with a way out when another program folded the WAL in', () => {
    const file = fresh();
    openDatabase(file).close();
    leaveGuardAs(file, 'open');
    const message = expectDamaged(file, /not closed cleanly.*missing/s);
    assert.match(message, /delete chilly\.db-guard/);
    rmSync(`${file}-guard`);
    openDatabase(file).close();
  });

  it('a live process has the database open: its WAL is not judged, and its guard is left to it', () => {
    const file = fresh();
    openDatabase(file).close();
    const owner = { pid: process.ppid, bootId: currentBootId() };
    const instanceId = guardOf(file).instanceId;
    writeFileSync(
      `${file}-guard`,
      JSON.stringify({ version: 1, instanceId, state: 'open', ...owner, updatedAt: new Date().toISOString() }),
    );
    const db = openDatabase(file);
    db.close();
    const guard = guardOf(file);
    assert.equal(guard.pid, process.ppid);
    assert.equal(guard.state, 'open');
  });

  it('an unreadable guard: refused without a WAL, opened (and rewritten) with one', () => {
    const file = fresh();
    openDatabase(file).close();
    writeFileSync(`${file}-guard`, '{ not json');
    expectDamaged(file, /unreadable/);

    // The files as a crash leaves them, WAL and all: copied while a connection has them open.
    const original = fresh();
    openDatabase(original).close();
    const raw = new Database(original);
    raw.pragma('wal_autocheckpoint = 0');
    raw.exec("UPDATE meta SET value = 'x' WHERE key = 'last_opened_at'");
    const crashed = fresh();
    mkdirSync(path.dirname(crashed), { recursive: true });
    for (const suffix of ['', '-wal']) copyFileSync(`${original}${suffix}`, `${crashed}${suffix}`);
    raw.close();
    writeFileSync(`${crashed}-guard`, 'garbage');
    const reopened = openDatabase(crashed);
    assert.equal(guardOf(crashed).state, 'open');
    reopened.close();
  });

  it('a database from before the guard (schema 3, no meta table) is taken as it is and given both', () => {
    const file = fresh();
    mkdirSync(path.dirname(file), { recursive: true });
    const legacy = new Database(file);
    legacy.pragma('journal_mode = WAL');
    for (const [index, sql] of MIGRATIONS.slice(0, 3).entries()) {
      legacy.exec(sql);
      legacy.pragma(`user_version = ${index + 1}`);
    }
    legacy.close();
    const db = openDatabase(file);
    assert.equal(Number(db.pragma('user_version', { simple: true })), MIGRATIONS.length);
    assert.equal(guardOf(file).instanceId, instanceOf(db));
    db.close();
  });

  it('a database replaced by another one is refused while the guard names the first', () => {
    const file = fresh();
    openDatabase(file).close();
    const other = path.join(path.dirname(file), 'other', 'chilly.db');
    openDatabase(other).close();
    const ours = guardOf(file).instanceId;
    rmSync(file);
    writeFileSync(file, readFileSync(other));
    const message = expectDamaged(file, /not the database that was here/);
    assert.ok(message.includes(ours));
  });

  it('a process that exits without closing leaves the guard closed and no WAL (closed at exit)', () => {
    const file = fresh();
    const script = path.join(dir, 'exit-without-close.ts');
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(DATABASE_MODULE)};\n` +
        'const db = openDatabase(process.argv[2]);\n' +
        "db.prepare(\"INSERT INTO meta (key, value) VALUES ('test', 'x')\").run();\n" +
        'process.exit(0);\n',
    );
    const result = spawnSync(process.execPath, ['--import', 'tsx', script, file], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(guardOf(file).state, 'closed');
    assert.equal(existsSync(`${file}-wal`), false);
    openDatabase(file).close();
  });

  it('writes the guard atomically, 0600', () => {
    const file = fresh();
    openDatabase(file).close();
    writeGuard(`${file}-guard`, { instanceId: 'abc', state: 'closed' });
    assert.equal(guardOf(file).instanceId, 'abc');
    if (process.platform !== 'win32') assert.equal((statSync(`${file}-guard`).mode & 0o777).toString(8), '600');
    assert.deepEqual(
      readdirSync(path.dirname(file)).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  });

  it('quick_check on a database with 1,000 jobs is quick (the figure is printed)', (t) => {
    const file = fresh();
    const db = openDatabase(file);
    const torrent = randomBytes(20 * 1024);
    const insertJob = db.prepare(`
      INSERT INTO jobs (id, position, source_type, source_urn, torrent_file, info_hash, name, status, save_path,
                        files_json, bytes_done, bytes_total, created_at, updated_at)
      VALUES (?, ?, 'torrent', ?, ?, ?, ?, ?, ?, ?, 0, 734003200, ?, ?)`);
    const insertResume = db.prepare(
      'INSERT INTO job_resume (job_id, bitfield, torrent_file, file_stats_json, saved_at) VALUES (?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    db.transaction(() => {
      for (let i = 0; i < 1_000; i++) {
        const id = `job-${i}`;
        const hash = i.toString(16).padStart(40, '0');
        insertJob.run(
          id,
          i + 1,
          `magnet:?xt=urn:btih:${hash}`,
          torrent,
          hash,
          `Movie.${i}.1080p.mkv`,
          i < 900 ? 'completed' : 'downloading',
          `/media/${id}`,
          JSON.stringify([{ path: `Movie.${i}.mkv`, length: 734003200 }]),
          now,
          now,
        );
        // Resume data for the jobs still downloading.
        if (i >= 900) insertResume.run(id, randomBytes(350), torrent, '[]', now);
      }
    })();
    db.close();
    const size = statSync(file).size;
    const guard = guardOf(file);
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const probe = probeDatabase(file, guard.instanceId);
      assert.equal(probe.problem, undefined);
      times.push(probe.quickCheckMs);
    }
    times.sort((a, b) => a - b);
    const median = times[2] ?? 0;
    t.diagnostic(
      `quick_check: 1,000 jobs (20 KiB .torrent each, 100 with resume data), ${(size / 1024 / 1024).toFixed(1)} MiB: ` +
        `median ${median.toFixed(1)} ms of 5 (${times.map((ms) => ms.toFixed(1)).join(', ')})`,
    );
    // Generous: the machine is shared; the point is that it is milliseconds, not seconds.
    assert.ok(median < 2_000, `quick_check took ${median} ms`);
  });
});
