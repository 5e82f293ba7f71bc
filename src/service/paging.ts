import { ChillyError } from '../domain/errors.js';

/** A page request's `limit` (1..500, default 50) and `offset` (default 0), checked; throws `validation_failed`. */
export function pageBounds(query: { limit?: number | undefined; offset?: number | undefined }): {
  limit: number;
  offset: number;
} {
  const limit = query.limit ?? 50;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new ChillyError('validation_failed', 'limit must be an integer from 1 to 500.');
  }
  if (!Number.isInteger(offset) || offset < 0) throw new ChillyError('validation_failed', 'offset must be >= 0.');
  return { limit, offset };
}
