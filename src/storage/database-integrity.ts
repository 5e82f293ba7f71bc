/**
 * Start-up checks of a database file and its companions, so a damaged database is refused with
 * a backup and a way out instead of being opened as an empty or partial one (issue 12, finding 6).
 *
 * Before SQLite touches the files (it would delete a WAL beside a 0-byte database, ignore a WAL
 * with a bad header, stop at the first bad frame, and fold whatever it kept into the database on
 * close): the database header, the WAL's format (wal-file.ts), the WAL against the index the
 * crashed process left in `-shm`, and, when the guard says the last run did not close cleanly,
 * that the WAL is there at all. Then a read-only connection (it never checkpoints or deletes the
 * WAL): the database's instance id against the guard's (another database's WAL or file in its
 * place), and `PRAGMA quick_check`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ChillyError } from '../domain/errors.js';
import { type DatabaseGuard, type GuardReading, guardFileOf } from './database-guard.js';
import { checkWalAgainstIndex, inspectWalFile, inspectWalIndexFile, withFileSource } from './wal-file.js';

export const RECOVERY_FOLDER = 'recovery';
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** quick_check stops after this many problems: enough to show in a message. */
const QUICK_CHECK_MAX_ERRORS = 5;
/** An index this large is not copied into memory for the backup (it is copied from disk instead). */
const MAX_CAPTURED_INDEX_BYTES = 64 * 1024 * 1024;

export interface DatabaseFiles {
  database: string;
  wal: string;
  shm: string;
  guard: string;
}

export function databaseFiles(file: string): DatabaseFiles {
  return { database: file, wal: `${file}-wal`, shm: `${file}-shm`, guard: guardFileOf(file) };
}

function sizeOf(file: string): number | undefined {
  return statSync(file, { throwIfNoEntry: false })?.size;
}

/** The `-shm` index as found, before a read-only connection rebuilds it: for the backup. */
export function captureIndex(files: DatabaseFiles): Buffer | undefined {
  const size = sizeOf(files.shm);
  if (size === undefined || size > MAX_CAPTURED_INDEX_BYTES) return undefined;
  try {
    return readFileSync(files.shm);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with the files, judged before SQLite opens them, or undefined. Only meaningful
 * when no live process has the database open (its WAL would be changing under us).
 */
export function checkBeforeOpen(files: DatabaseFiles, guardReading: GuardReading): string | undefined {
  const name = path.basename(files.database);
  const walName = path.basename(files.wal);
  const guardName = path.basename(files.guard);
  const guard: Pick<DatabaseGuard, 'state'> | undefined =
    guardReading.kind === 'ok'
      ? guardReading.guard
      : guardReading.kind === 'unreadable'
        ? { state: 'open' }
        : undefined;
  const walSize = sizeOf(files.wal);

  const databaseStat = statSync(files.database, { throwIfNoEntry: false });
  if (databaseStat === undefined) {
    if (walSize !== undefined && walSize > 0) return `${name} is missing, but its write-ahead log ${walName} is there`;
    if (guard !== undefined) return `${name} is missing, but ${guardName} says a database was here`;
    return undefined;
  }
  if (!databaseStat.isFile()) return `${name} is not a regular file`;
  if (databaseStat.size === 0) {
    if (guard !== undefined) return `${name} is empty (0 bytes), but ${guardName} says a database was here`;
    if (walSize !== undefined && walSize > 0) {
      return `${name} is empty (0 bytes) beside a write-ahead log ${walName} that is not (SQLite would delete the log)`;
    }
    return undefined;
  }
  const headerProblem = checkDatabaseHeader(files.database, databaseStat.size);
  if (headerProblem !== undefined) return `${name} ${headerProblem}`;

  const index = inspectWalIndexFile(files.shm);
  const remember = index?.kind === 'ok' && index.maxFrame > 0 ? { remember: index.maxFrame } : {};
  const wal = inspectWalFile(files.wal, remember);
  if (wal?.kind === 'damaged') return `its write-ahead log ${walName} is damaged: ${wal.problem}`;
  if (guard?.state === 'open' && (wal === undefined || wal.kind === 'empty')) {
    const why =
      guardReading.kind === 'unreadable'
        ? `${guardName} is unreadable (${guardReading.reason}), so ${name} may not have been closed cleanly, and then`
        : `${name} was not closed cleanly (the last run stopped without closing it: a crash, a kill or a power cut), so`;
    return (
      `${why} its write-ahead log ${walName} must hold the latest changes, but it is ` +
      (wal === undefined ? 'missing' : 'empty (0 bytes)') +
      ` (if another program, such as the sqlite3 shell, has opened ${name} since, it folded the log in and ` +
      `deleted it: then delete ${guardName} and start again)`
    );
  }
  const mismatch = checkWalAgainstIndex(wal, index);
  if (mismatch !== undefined) return `its write-ahead log ${walName}: ${mismatch}`;
  return undefined;
}

function checkDatabaseHeader(file: string, size: number): string | undefined {
  if (size < 100) return `is ${size} bytes long, shorter than a SQLite header`;
  const header = Buffer.alloc(100);
  if ((withFileSource(file, (source) => source.read(header, 0)) ?? 0) < header.length) return 'could not be read';
  if (!header.subarray(0, 16).equals(SQLITE_HEADER))
    return 'does not start with the SQLite header: it is not a database';
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) {
    return `has an impossible page size in its header (${raw})`;
  }
  if (size % pageSize !== 0) return `is not a whole number of ${pageSize}-byte pages (${size} bytes): it was cut short`;
  return undefined;
}

export interface ProbeResult {
  problem: string | undefined;
  /** The database's `meta.instance_id`, when it has one. */
  instanceId: string | undefined;
  quickCheckMs: number;
}

/**
 * Opens the database read-only (which never checkpoints or deletes its WAL, whatever happens)
 * and checks that it is the database the guard knows (`expectedInstanceId`) and that
 * `PRAGMA quick_check` finds nothing. quick_check reads every page once, so it takes time in
 * proportion to the file: about 8 ms for 1,000 jobs (22 MiB) here (tests/unit/database-integrity.test.ts).
 */
export function probeDatabase(file: string, expectedInstanceId: string | undefined): ProbeResult {
  const name = path.basename(file);
  let instanceId: string | undefined;
  let quickCheckMs = 0;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const hasMeta =
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (hasMeta) {
      const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'instance_id'").get();
      instanceId = row?.value;
    }
    if (expectedInstanceId !== undefined && instanceId !== expectedInstanceId) {
      const found = instanceId === undefined ? 'no instance id' : `instance ${instanceId}`;
      return {
        problem:
          `it is not the database that was here: it holds ${found}, but ${path.basename(guardFileOf(file))} says ` +
          `instance ${expectedInstanceId} (its write-ahead log or the file itself was replaced by another database's)`,
        instanceId,
        quickCheckMs,
      };
    }
    const started = performance.now();
    const rows = db.pragma(`quick_check(${QUICK_CHECK_MAX_ERRORS})`) as Array<{ quick_check: string }>;
    quickCheckMs = performance.now() - started;
    const findings = rows.map((row) => row.quick_check);
    if (findings.length !== 1 || findings[0] !== 'ok') {
      const said = findings
        .join('\n')
        .replace(/\*\*\* in database \w+ \*\*\*/g, '')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      return { problem: `PRAGMA quick_check finds it malformed: ${said.join('; ')}`, instanceId, quickCheckMs };
    }
    return { problem: undefined, instanceId, quickCheckMs };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
      return { problem: `SQLite cannot read ${name}: ${(error as Error).message}`, instanceId, quickCheckMs };
    }
    throw error;
  } finally {
    db?.close();
  }
}

export type BackupResult = { folder: string } | { error: string };

/**
 * Copies the database, its WAL and index as they were found (`found`: which of the two existed
 * before the read-only check; `capturedIndex`: the index before it was rebuilt) and the guard into
 * `<folder of the database>/recovery/<time>/`. Never throws: a failed backup is said in the
 * refusal message instead.
 */
export function backupDamagedFiles(
  files: DatabaseFiles,
  before: { found: { wal: boolean; shm: boolean }; capturedIndex: Buffer | undefined },
): BackupResult {
  try {
    const root = path.join(path.dirname(files.database), RECOVERY_FOLDER);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let folder = path.join(root, stamp);
    for (let n = 2; ; n++) {
      try {
        mkdirSync(folder, { mode: 0o700 });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw error;
        folder = path.join(root, `${stamp}-${n}`);
      }
    }
    const copy = (file: string) => {
      if (existsSync(file)) copyFileSync(file, path.join(folder, path.basename(file)));
    };
    copy(files.database);
    if (before.found.wal) copy(files.wal);
    if (before.capturedIndex !== undefined) {
      writeFileSync(path.join(folder, path.basename(files.shm)), before.capturedIndex, { mode: 0o600 });
    } else if (before.found.shm) {
      copy(files.shm);
    }
    copy(files.guard);
    return { folder };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export function databaseDamagedError(files: DatabaseFiles, problem: string, backup: BackupResult): ChillyError {
  const folder = path.dirname(files.database);
  const name = path.basename(files.database);
  const all = `${name}, ${name}-wal, ${name}-shm and ${name}-guard`;
  const kept =
    'folder' in backup
      ? `The files as they were found are copied to ${backup.folder}.`
      : `Copying the files aside failed (${backup.error}): copy ${all} somewhere safe before anything else.`;
  const copy = 'folder' in backup ? `a copy of ${backup.folder}` : 'a copy of the files';
  return new ChillyError(
    'database_damaged',
    `The database ${files.database} is damaged, so the server will not start on it (it could start with jobs ` +
      `missing or wrong): ${problem}.\n${kept}\n` +
      `To start with an empty database: move ${all} out of ${folder}. To salvage what is readable instead: ` +
      `run sqlite3 ${name} .recover (or .dump) on ${copy} (sqlite3 changes the files it opens), load the output ` +
      `into a new ${name} and put that in place; the README ("When the database is damaged") has the steps.`,
  );
}
