import { closeSync, existsSync, mkdirSync, openSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type DatabaseGuard, ownerMayBeAlive, readGuard, writeGuard } from './database-guard.js';
import {
  backupDamagedFiles,
  captureIndex,
  checkBeforeOpen,
  type DatabaseFiles,
  databaseDamagedError,
  databaseFiles,
  probeDatabase,
} from './database-integrity.js';
import { MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

/** The connections this process has open on each database file, and whether it owns the guard. */
interface OpenFile {
  files: DatabaseFiles;
  connections: Set<SqliteDatabase>;
  instanceId: string;
  /** False when another live process had the database open first: its guard is not ours to write. */
  ownsGuard: boolean;
}

const openFiles = new Map<string, OpenFile>();
let exitHookInstalled = false;

/**
 * Opens (creating if needed) the database and brings its schema up to date.
 *
 * WAL with `synchronous=NORMAL`: a committed transaction survives a crash of this process (it is
 * in the WAL file, which the OS has), and the database is never corrupted. A power loss or OS
 * crash can roll back the last transactions committed before it (at most the ones since the last
 * WAL sync, normally well under a second); `FULL` would fsync on every commit, which progress
 * updates do not deserve.
 *
 * A file database is checked first (storage/database-integrity.ts): a missing, cut or damaged
 * WAL, another database's WAL or file in its place, a 0-byte or malformed file throw
 * `database_damaged` after copying the files to `recovery/<time>/` beside it, instead of opening
 * as an empty or partial database. A new file is created 0600 (SQLite gives its -wal and -shm the
 * same mode), its folder 0700.
 */
export function openDatabase(file: string): SqliteDatabase {
  if (file === ':memory:' || file === '') return configure(new Database(file));
  const folder = path.dirname(path.resolve(file));
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  // One key per file, however it is named (a symlinked folder, a relative path).
  const resolved = path.join(realpathSync(folder), path.basename(file));
  let entry = openFiles.get(resolved);
  let db: SqliteDatabase;
  if (entry === undefined) {
    ({ db, entry } = openChecked(resolved));
    openFiles.set(resolved, entry);
    installExitHook();
  } else {
    // Another connection of this process: the files were checked when the first one opened.
    db = configure(new Database(resolved));
  }
  entry.connections.add(db);
  hookClose(db, resolved, entry);
  return db;
}

function configure(db: SqliteDatabase): SqliteDatabase {
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function openChecked(file: string): { db: SqliteDatabase; entry: OpenFile } {
  const files = databaseFiles(file);
  const guardReading = readGuard(files.guard);
  const guard: DatabaseGuard | undefined = guardReading.kind === 'ok' ? guardReading.guard : undefined;
  // A live process with the database open is writing its WAL right now: nothing to judge there.
  const shared = guard !== undefined && guard.state !== 'closed' && ownerMayBeAlive(guard);
  const capturedIndex = shared ? undefined : captureIndex(files);
  const found = { wal: existsSync(files.wal), shm: existsSync(files.shm) };
  const refuse = (problem: string): never => {
    const backup = backupDamagedFiles(files, { found, capturedIndex });
    // The read-only check may have made an empty -wal and an -shm: leave the folder as it was found.
    if (!found.wal && statSync(files.wal, { throwIfNoEntry: false })?.size === 0) rmSync(files.wal, { force: true });
    if (!found.shm && !shared) rmSync(files.shm, { force: true });
    throw databaseDamagedError(files, problem, backup);
  };
  if (!shared) {
    const problem = checkBeforeOpen(files, guardReading);
    if (problem !== undefined) refuse(problem);
  }
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > 0) {
    const probe = probeDatabase(file, guard?.instanceId);
    if (probe.problem !== undefined) refuse(probe.problem);
  } else {
    createPrivately(file);
  }

  const db = configure(new Database(file));
  let instanceId: string;
  try {
    // A write at every open: the WAL of every run holds the meta page, so another database's WAL
    // in its place shows another instance id. (Migration 4 made the id; a lost row gets a new one.)
    instanceId = db.transaction(() => {
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('instance_id', lower(hex(randomblob(16)))) ON CONFLICT (key) DO NOTHING",
      ).run();
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('last_opened_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(new Date().toISOString());
      return db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'instance_id'").get()?.value ?? '';
    })();
  } catch (error) {
    db.close();
    throw error;
  }
  const entry: OpenFile = { files, connections: new Set(), instanceId, ownsGuard: !shared };
  if (entry.ownsGuard) updateGuard(entry, 'open');
  return { db, entry };
}

/** Creates the file 0600 (if it does not exist yet) before SQLite does it with 0644. */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Best effort: a guard that cannot be written (a full disk) is removed rather than left saying
 * something untrue. Without a guard the next start checks less, but never refuses wrongly.
 */
function updateGuard(entry: OpenFile, state: DatabaseGuard['state']): void {
  try {
    writeGuard(entry.files.guard, { instanceId: entry.instanceId, state });
  } catch {
    try {
      rmSync(entry.files.guard, { force: true });
    } catch {
      // Nothing more to do: the next start sees whatever is left, at worst a stale "closed".
    }
  }
}

/**
 * The last connection of this process to close marks the guard `closing`, closes (SQLite
 * checkpoints the WAL into the database and deletes it), then marks it `closed`.
 */
function hookClose(db: SqliteDatabase, file: string, entry: OpenFile): void {
  const nativeClose = db.close.bind(db);
  db.close = () => {
    if (!db.open || !entry.connections.has(db)) return nativeClose();
    const last = entry.connections.size === 1;
    if (!last) {
      nativeClose();
      entry.connections.delete(db);
      return db;
    }
    if (entry.ownsGuard) updateGuard(entry, 'closing');
    try {
      nativeClose();
    } catch (error) {
      if (entry.ownsGuard) updateGuard(entry, 'open');
      throw error;
    }
    entry.connections.delete(db);
    openFiles.delete(file);
    if (entry.ownsGuard) updateGuard(entry, 'closed');
    return db;
  };
}

/**
 * better-sqlite3 closes every open database when the process exits (checkpointing and deleting
 * the WAL): close them here first, so the guard says so too.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const entry of [...openFiles.values()]) {
      for (const db of [...entry.connections]) {
        try {
          db.close();
        } catch {
          // Exiting anyway.
        }
      }
    }
  });
}

/** Applies every migration newer than `user_version`, each in its own transaction. */
export function migrate(db: SqliteDatabase): void {
  const current = Number(db.pragma('user_version', { simple: true }));
  if (current >= MIGRATIONS.length) return;
  // A migration that rebuilds a table drops the old one, which with foreign keys on would first
  // delete every row that references it (ON DELETE CASCADE). The switch only works outside a
  // transaction; each migration checks the keys itself before it commits.
  const foreignKeys = Number(db.pragma('foreign_keys', { simple: true }));
  db.pragma('foreign_keys = OFF');
  try {
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (version <= current) continue;
      db.transaction(() => {
        db.exec(sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`Migration ${version} left ${broken.length} broken references.`);
        db.pragma(`user_version = ${version}`);
      })();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
}

export function schemaVersion(db: SqliteDatabase): number {
  return Number(db.pragma('user_version', { simple: true }));
}
