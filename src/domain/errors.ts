/**
 * The one error catalogue. Every error the backend raises on purpose carries a stable `code`
 * from this table; the HTTP layer maps it to a status once, and clients get
 * `{ error: { code, message } }`. Codes are part of the public contract: never rename one.
 */
export const ERROR_CATALOGUE = {
  validation_failed: { httpStatus: 400, summary: 'The request or an argument is not valid.' },
  invalid_job_id: { httpStatus: 400, summary: 'A job id must be 1-128 letters, digits, dots, dashes or underscores.' },
  invalid_source: { httpStatus: 400, summary: 'The download source is not a magnet URI, info-hash or .torrent.' },
  invalid_magnet: { httpStatus: 400, summary: 'The magnet URI is malformed or has no valid BitTorrent info-hash.' },
  invalid_torrent: { httpStatus: 400, summary: 'The .torrent data could not be parsed.' },
  torrent_file_unreadable: { httpStatus: 400, summary: 'The .torrent file could not be read.' },
  unsafe_path: { httpStatus: 400, summary: 'The torrent names a file path outside its download folder.' },
  unsupported_torrent_version: {
    httpStatus: 400,
    summary: 'The torrent is BitTorrent v2 only (no v1 info-hash or pieces), which this engine cannot download.',
  },
  unauthorized: { httpStatus: 401, summary: 'A valid API token is required.' },
  job_not_found: { httpStatus: 404, summary: 'No job has this id.' },
  duplicate_job: { httpStatus: 409, summary: 'A job with this id already exists.' },
  duplicate_torrent: { httpStatus: 409, summary: 'This torrent is already being handled by another job.' },
  invalid_transition: { httpStatus: 409, summary: 'The job is not in a state that allows this action.' },
  insufficient_space: { httpStatus: 507, summary: 'Not enough free disk space for this download.' },
  disk_full: { httpStatus: 507, summary: 'The disk filled up during the download.' },
  files_missing: { httpStatus: 409, summary: "The completed job's files are no longer on disk." },
  path_missing: {
    httpStatus: 409,
    summary: "The job's folder or the media folder vanished or was unmounted while the job had data in it.",
  },
  download_failed: { httpStatus: 500, summary: 'The download engine reported an error.' },
  engine_unreachable: {
    httpStatus: 503,
    summary: 'The download engine (qBittorrent or Transmission) does not answer; Chilly keeps retrying.',
  },
  engine_auth_failed: {
    httpStatus: 502,
    summary: 'The download engine refused the configured user name or password.',
  },
  removed_externally: {
    httpStatus: 409,
    summary: "The torrent was removed in the engine's own interface; Chilly does not add it back by itself.",
  },
  downloader_destroyed: { httpStatus: 503, summary: 'The downloader has been shut down.' },
  shutting_down: {
    httpStatus: 503,
    summary: 'The server is shutting down (or its download service is closed): nothing new is accepted.',
  },
  database_damaged: {
    httpStatus: 503,
    summary: 'The database is damaged or incomplete: the server refuses to start on it (see the README on recovery).',
  },
  not_found: { httpStatus: 404, summary: 'No such route.' },
  web_app_missing: { httpStatus: 503, summary: 'The web app was not built (npm run build).' },
  cross_site_request: {
    httpStatus: 403,
    summary: 'A change made with the session cookie lacks the X-Requested-By header (a cross-site request).',
  },
  origin_not_allowed: { httpStatus: 403, summary: 'Requests from this browser origin are not allowed.' },
  payload_too_large: { httpStatus: 413, summary: 'The request body is too large.' },
  unsupported_media_type: { httpStatus: 415, summary: 'This Content-Type is not accepted here.' },
  misdirected_request: { httpStatus: 421, summary: 'The Host header names a host this server does not answer for.' },
  rate_limited: { httpStatus: 429, summary: 'Too many failed attempts: retry later.' },
  internal_error: { httpStatus: 500, summary: 'An unexpected error occurred.' },
  capability_unsupported: {
    httpStatus: 409,
    summary: 'The download engine in use cannot do this (its name is in the message).',
  },
  stream_unavailable: {
    httpStatus: 409,
    summary: 'This part of the file is not on disk and the job is not downloading: resume it to stream.',
  },
  stream_timeout: { httpStatus: 504, summary: 'The data under the playhead did not arrive in time.' },
  range_not_satisfiable: { httpStatus: 416, summary: 'The requested byte range is outside the file.' },
  file_not_found: { httpStatus: 404, summary: 'The job has no file with this index.' },
  subtitle_not_found: { httpStatus: 404, summary: 'The job has no subtitle with this index.' },
  subtitle_unreadable: {
    httpStatus: 422,
    summary:
      'The subtitle file could not be read as SRT, ASS/SSA or WebVTT (its name and the reason are in the message).',
  },
  library_conflict: {
    httpStatus: 409,
    summary: 'The library folder holds a file under this name that Chilly did not put there; it is left alone.',
  },
  move_in_progress: { httpStatus: 409, summary: "The job's data is being moved: wait until the move ends." },
  invalid_destination: {
    httpStatus: 400,
    summary: 'The destination folder is not inside an allowed folder, or cannot hold the data.',
  },
  tmdb_not_configured: {
    httpStatus: 503,
    summary: 'Metadata lookups need a TMDB API key or read token (TMDB_API_KEY or TMDB_READ_TOKEN).',
  },
  tmdb_key_rejected: { httpStatus: 502, summary: 'TMDB rejected the configured API key or read token.' },
  movie_not_found: { httpStatus: 404, summary: 'TMDB has no movie with this id.' },
  metadata_unavailable: { httpStatus: 502, summary: 'TMDB could not be reached or answered with an error.' },
  image_not_found: { httpStatus: 404, summary: 'TMDB has no poster or backdrop for this movie.' },
} as const satisfies Record<string, { httpStatus: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The error every backend module throws on purpose. `cause` keeps the original error for logs. */
export class ChillyError extends Error {
  override readonly name = 'ChillyError';
  readonly code: ErrorCode;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CATALOGUE[code].summary, options);
    this.code = code;
    this.httpStatus = ERROR_CATALOGUE[code].httpStatus;
  }

  /** The JSON shape clients see: no stack, no cause. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isChillyError(value: unknown, code?: ErrorCode): value is ChillyError {
  return value instanceof ChillyError && (code === undefined || value.code === code);
}

/** Wraps anything thrown by a dependency into a ChillyError, keeping the original as `cause`. */
export function toChillyError(value: unknown, fallback: ErrorCode = 'internal_error'): ChillyError {
  if (value instanceof ChillyError) return value;
  const errno = (value as { code?: unknown } | null)?.code;
  if (errno === 'ENOSPC')
    return new ChillyError('disk_full', 'The disk is full: free some space, then resume.', { cause: value });
  const message = value instanceof Error ? value.message : String(value);
  return new ChillyError(fallback, message, { cause: value });
}
