import type { SqliteDatabase } from './database.js';

/** One cached answer. Times are epoch milliseconds. */
export interface MetadataCacheEntry {
  key: string;
  /** The value as JSON text; the caller parses and checks it. */
  json: string;
  fetchedAt: number;
  expiresAt: number;
}

interface CacheRow {
  key: string;
  json: string;
  fetched_at: number;
  expires_at: number;
}

/**
 * The `metadata_cache` table: a key-value store with expiry. An expired entry is kept (until
 * `prune`) because it is still worth showing, marked stale, when TMDB cannot be reached.
 */
export class MetadataCacheRepository {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    this.statements = {
      get: db.prepare<[string], CacheRow>('SELECT * FROM metadata_cache WHERE key = ?'),
      put: db.prepare(`
        INSERT INTO metadata_cache (key, json, fetched_at, expires_at) VALUES (@key, @json, @fetched_at, @expires_at)
        ON CONFLICT (key) DO UPDATE SET json = excluded.json, fetched_at = excluded.fetched_at,
          expires_at = excluded.expires_at`),
      delete: db.prepare('DELETE FROM metadata_cache WHERE key = ?'),
      prune: db.prepare('DELETE FROM metadata_cache WHERE expires_at < ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM metadata_cache'),
    };
  }

  get(key: string): MetadataCacheEntry | undefined {
    const row = this.statements.get.get(key);
    if (row === undefined) return undefined;
    return { key: row.key, json: row.json, fetchedAt: row.fetched_at, expiresAt: row.expires_at };
  }

  put(entry: MetadataCacheEntry): void {
    this.statements.put.run({
      key: entry.key,
      json: entry.json,
      fetched_at: entry.fetchedAt,
      expires_at: entry.expiresAt,
    });
  }

  delete(key: string): void {
    this.statements.delete.run(key);
  }

  /** Removes entries that expired before `expiredBefore`; returns how many. */
  prune(expiredBefore: number): number {
    return this.statements.prune.run(expiredBefore).changes;
  }

  count(): number {
    return this.statements.count.get()?.n ?? 0;
  }
}
