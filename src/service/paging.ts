import { ChillyError } from '../domain/errors.js';
import type { Job, JobStatus } from '../domain/job.js';
import type { DownloadServiceApi } from './download-service-api.js';

/** Jobs read per page when a scan reads them all: the most one page may hold. */
const SCAN_PAGE = 500;
/** Bounds a scan whatever the service answers (5 million jobs). */
const MAX_SCAN_PAGES = 10_000;

/**
 * Every job the service lists (only those in `status`, when given), one page after another.
 * The pages are read without a pause between them (`list` is synchronous): no job is added or
 * removed in between, so none is read twice or missed, whatever order the list is in. Keep it so:
 * a consumer that awaits inside the loop would let the list move under the offsets.
 */
export function* allJobs(service: Pick<DownloadServiceApi, 'list'>, status?: readonly JobStatus[]): Generator<Job> {
  let offset = 0;
  for (let page = 0; page < MAX_SCAN_PAGES; page += 1) {
    const { jobs, total } = service.list({ ...(status === undefined ? {} : { status }), limit: SCAN_PAGE, offset });
    yield* jobs;
    offset += jobs.length;
    if (jobs.length === 0 || offset >= total) return;
  }
}

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
