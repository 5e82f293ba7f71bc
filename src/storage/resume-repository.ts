import type { BootMark } from './boot-identity.js';
import type { SqliteDatabase } from './database.js';

/** Size and modification time of one file of a torrent, when its bitfield was saved. */
export interface FileStat {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What lets a restart skip re-hashing: the verified pieces and the files they describe. */
export interface StoredResumeData {
  bitfield: Uint8Array;
  torrentFile: Uint8Array;
  fileStats: FileStat[];
  /** The boot of the machine the bitfield was saved in: after a reboot, unsynced writes may be gone. */
  boot: BootMark;
  /** The files were fsync'ed when this was saved (clean shutdown), so it holds across a power loss. */
  synced: boolean;
  savedAt: string;
}

interface FileStatsJson {
  files: FileStat[];
  /** Linux's boot id; `unknown` (written by older versions elsewhere) or absent when there was none. */
  bootId?: string;
  /** When that boot began (epoch ms); absent in rows older versions wrote. */
  bootStartedAtMs?: number;
  synced: boolean;
}

const UNKNOWN_BOOT_ID = 'unknown';

interface ResumeRow {
  bitfield: Buffer;
  torrent_file: Buffer;
  file_stats_json: string;
  saved_at: string;
}

/** The `job_resume` table: one row per job, replaced on every save, removed with the job. */
export class ResumeRepository {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    this.statements = {
      upsert: db.prepare(`
        INSERT INTO job_resume (job_id, bitfield, torrent_file, file_stats_json, saved_at)
        VALUES (@job_id, @bitfield, @torrent_file, @file_stats_json, @saved_at)
        ON CONFLICT (job_id) DO UPDATE SET bitfield = excluded.bitfield, torrent_file = excluded.torrent_file,
          file_stats_json = excluded.file_stats_json, saved_at = excluded.saved_at`),
      get: db.prepare<[string], ResumeRow>('SELECT * FROM job_resume WHERE job_id = ?'),
      delete: db.prepare('DELETE FROM job_resume WHERE job_id = ?'),
    };
  }

  save(jobId: string, data: StoredResumeData): void {
    this.statements.upsert.run({
      job_id: jobId,
      bitfield: Buffer.from(data.bitfield),
      torrent_file: Buffer.from(data.torrentFile),
      file_stats_json: JSON.stringify({
        files: data.fileStats,
        ...(data.boot.id === undefined ? {} : { bootId: data.boot.id }),
        ...(data.boot.startedAtMs === undefined ? {} : { bootStartedAtMs: data.boot.startedAtMs }),
        synced: data.synced,
      } satisfies FileStatsJson),
      saved_at: data.savedAt,
    });
  }

  get(jobId: string): StoredResumeData | undefined {
    const row = this.statements.get.get(jobId);
    if (row === undefined) return undefined;
    const stats = JSON.parse(row.file_stats_json) as FileStatsJson;
    return {
      bitfield: new Uint8Array(row.bitfield),
      torrentFile: new Uint8Array(row.torrent_file),
      fileStats: stats.files,
      boot: {
        ...(stats.bootId === undefined || stats.bootId === UNKNOWN_BOOT_ID ? {} : { id: stats.bootId }),
        ...(typeof stats.bootStartedAtMs === 'number' ? { startedAtMs: stats.bootStartedAtMs } : {}),
      },
      synced: stats.synced,
      savedAt: row.saved_at,
    };
  }

  delete(jobId: string): void {
    this.statements.delete.run(jobId);
  }
}
