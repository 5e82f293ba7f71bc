/**
 * Speed limits set while the server runs (PUT /settings/limits), kept in the database's `meta`
 * table so they outlive a restart; until one is set, the configuration's apply.
 */
import type { RateLimits } from '../domain/rate-limits.js';
import type { SqliteDatabase } from './database.js';

const KEY = 'rate_limits';

export class RateLimitsRepository {
  constructor(private readonly db: SqliteDatabase) {}

  /** The limits last set, or undefined when none was ever set (or the stored value is not ours). */
  get(): RateLimits | undefined {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(KEY);
    if (row === undefined) return undefined;
    try {
      const value = JSON.parse(row.value) as Partial<RateLimits>;
      const { downloadBytesPerSecond: down, uploadBytesPerSecond: up } = value;
      if (!isLimit(down) || !isLimit(up)) return undefined;
      return { downloadBytesPerSecond: down, uploadBytesPerSecond: up };
    } catch {
      return undefined;
    }
  }

  set(limits: RateLimits): void {
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(KEY, JSON.stringify(limits));
  }
}

function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
