/**
 * Which movie each download is. The linker listens to the download service's job events; when a
 * job's torrent name becomes known (at add for a .torrent or a magnet with `dn`, else once the
 * swarm sends the metadata) it parses the name, looks the film up (best match by title and year),
 * and stores the link with a snapshot of the movie, so jobs and the library show it offline.
 *
 * Privacy: automatic lookups run only when a TMDB key or token is configured and `autoIdentify`
 * is on (configuring the key is the user's request; `autoIdentify: false` withdraws it). The
 * user's own actions (`setUserMovie`, `identifyNow`, artwork views) ask TMDB on their behalf
 * whenever a key is configured. Nothing here runs without a key.
 *
 * Downloads never wait for, or fail because of, a lookup: lookups run outside any database
 * transaction, a few at a time, and a failure is reported through `onWarning` and retried a
 * bounded number of times (then after a restart, or when the user asks).
 * The user's choice (`origin: 'user'`) is never replaced automatically.
 */
import { DEFAULTS } from '../config/defaults.js';
import { ChillyError, isChillyError } from '../domain/errors.js';
import type { Job, JobMovie } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import type { MovieDetails, MovieInfo, MovieSnapshot, ReleaseName } from '../domain/movie.js';
import { type ArtworkKind, remoteArtworkUrl, withLocalArtwork } from '../metadata/local-artwork.js';
import type { MetadataService } from '../metadata/metadata-service.js';
import type { PosterFileInfo } from '../metadata/poster-cache.js';
import type { MovieLink, MovieLinksRepository } from '../storage/movie-links-repository.js';
import type { DownloadServiceApi } from './download-service-api.js';
import { allJobs } from './paging.js';

/** What the linker needs from the download service. */
export type LinkableService = Pick<DownloadServiceApi, 'get' | 'list' | 'subscribe'> & {
  /** Publishes `updated` for a job whose movie changed. */
  announceUpdate(id: string): void;
};

export interface MovieLinkerOptions {
  service: LinkableService;
  metadata: MetadataService;
  links: MovieLinksRepository;
  /** Identify jobs without being asked, as their names become known. Default true; needs a key. */
  autoIdentify?: boolean;
  /** Automatic lookups at once. Default 2. */
  concurrency?: number;
  /**
   * Waits before each retry of a failed automatic lookup (network, 5xx, timeout, rate limit);
   * after the last one the job waits for a restart or for the user. Default 1 min, 10 min, 1 h.
   */
  retryDelaysMs?: readonly number[];
  onWarning?: (message: string, cause?: unknown) => void;
  now?: () => number;
}

interface LookupResult {
  release: ReleaseName;
  movie: MovieSnapshot | null;
  confidence: number | null;
}

const DEFAULT_RETRY_DELAYS_MS = [60_000, 10 * 60_000, 3_600_000];

/** A details record as stored with a link: everything but `stale`. */
export function toMovieInfo(movie: MovieDetails | MovieSnapshot): MovieSnapshot {
  const { stale: _stale, ...info } = movie as MovieDetails;
  return info;
}

/** The summary a job carries: the link's snapshot with local artwork URLs; null without a movie. */
export function jobMovieOf(link: MovieLink | undefined): JobMovie | null {
  if (link?.movie == null) return null;
  const movie = withLocalArtwork(link.movie);
  const { release } = link;
  return {
    tmdbId: movie.tmdbId,
    title: movie.title,
    originalTitle: movie.originalTitle,
    year: movie.year,
    runtime: movie.runtime ?? null,
    rating: movie.rating,
    posterUrl: movie.posterUrl,
    backdropUrl: movie.backdropUrl,
    origin: link.origin,
    confidence: link.confidence,
    release: {
      resolution: release.resolution,
      source: release.source,
      codec: release.codec,
      edition: [...release.edition],
      group: release.group,
    },
    linkedAt: link.linkedAt,
  };
}

/** The full snapshot of a link's movie, with local artwork URLs and every field present. */
export function movieInfoOf(link: MovieLink | undefined): MovieInfo | null {
  if (link?.movie == null) return null;
  const movie = withLocalArtwork(link.movie);
  return {
    ...toMovieInfo(movie),
    runtime: movie.runtime ?? null,
    genres: movie.genres ?? [],
    imdbId: movie.imdbId ?? null,
    tagline: movie.tagline ?? null,
  };
}

/** For `DownloadServiceOptions.movies`: each job's movie, read from the links table. */
export function jobMovieLookup(links: MovieLinksRepository): (jobId: string) => JobMovie | null {
  return (jobId) => jobMovieOf(links.get(jobId));
}

/** For `DownloadServiceOptions.moviesOf`: the movies of many jobs in one read (a job without one is not in the map). */
export function jobMoviesLookup(links: MovieLinksRepository): (jobIds: readonly string[]) => Map<string, JobMovie> {
  return (jobIds) => {
    const movies = new Map<string, JobMovie>();
    for (const [jobId, link] of links.getMany(jobIds)) {
      const movie = jobMovieOf(link);
      if (movie !== null) movies.set(jobId, movie);
    }
    return movies;
  };
}

function sameMovieName(a: ReleaseName, b: ReleaseName): boolean {
  return a.title === b.title && a.year === b.year;
}

function sameRelease(a: ReleaseName, b: ReleaseName): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isForeignKeyError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export class MovieLinker {
  readonly #service: LinkableService;
  readonly #metadata: MetadataService;
  readonly #links: MovieLinksRepository;
  readonly #autoIdentify: boolean;
  readonly #concurrency: number;
  readonly #retryDelays: readonly number[];
  readonly #warn: (message: string, cause?: unknown) => void;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  /** Jobs waiting for an automatic lookup, in order, each once. */
  readonly #queue: string[] = [];
  /** Jobs whose automatic lookup is running. */
  readonly #running = new Set<string>();
  /** Every promise close() must wait for: lookups, artwork downloads. */
  readonly #tasks = new Set<Promise<unknown>>();
  /** The name each job was last looked at under, so progress events cost a map read. */
  readonly #seen = new Map<string, string>();
  readonly #attempts = new Map<string, number>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  readonly #idleWaiters: Array<() => void> = [];
  #unsubscribe: (() => void) | undefined;
  #keyRejected = false;
  #closed: Promise<void> | undefined;

  constructor(options: MovieLinkerOptions) {
    this.#service = options.service;
    this.#metadata = options.metadata;
    this.#links = options.links;
    this.#autoIdentify = options.autoIdentify ?? DEFAULTS.autoIdentify;
    this.#concurrency = options.concurrency ?? 2;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new ChillyError('validation_failed', 'The linker concurrency must be an integer >= 1.');
    }
    this.#retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.#warn = options.onWarning ?? (() => undefined);
    this.#now = options.now ?? Date.now;
  }

  /** Whether metadata requests can be made at all (a TMDB key or token is configured). */
  get configured(): boolean {
    return this.#metadata.configured;
  }

  /** Whether jobs are identified without being asked: configured, switched on, and the key not rejected. */
  get autoIdentify(): boolean {
    return this.#autoIdentify && this.#metadata.configured && !this.#keyRejected;
  }

  /**
   * Starts following the service's jobs. Jobs that are already there and have a name but no link
   * (added before a key was configured, or whose lookup failed before a restart) are queued too.
   */
  start(): void {
    if (this.#unsubscribe !== undefined || this.#closed !== undefined || !this.autoIdentify) return;
    this.#unsubscribe = this.#service.subscribe((event) => this.#onEvent(event));
    for (const job of allJobs(this.#service)) this.#consider(job);
  }

  /** The movie summary of a job (what `Job.movie` shows). */
  jobMovie(jobId: string): JobMovie | null {
    return jobMovieOf(this.#links.get(jobId));
  }

  /** The full snapshot of a job's movie (what the library shows). */
  movieInfo(jobId: string): MovieInfo | null {
    return movieInfoOf(this.#links.get(jobId));
  }

  /**
   * The user's choice: `tmdbId` (its details are fetched, from the cache when there) or null for
   * "this is no movie". Stored as `origin: 'user'`, which no automatic lookup replaces.
   */
  async setUserMovie(jobId: string, tmdbId: number | null): Promise<Job> {
    this.#assertOpen();
    const job = this.#service.get(jobId);
    const release = this.#metadata.parse(job.name ?? '');
    const movie = tmdbId === null ? null : toMovieInfo(await this.#metadata.movie(tmdbId, { signal: this.#signal }));
    this.#assertOpen();
    this.#write(jobId, () =>
      this.#links.set({ jobId, origin: 'user', confidence: null, release, movie, linkedAt: this.#timestamp() }),
    );
    this.#cancelRetry(jobId);
    this.#service.announceUpdate(jobId);
    if (movie !== null) this.#track(this.#cacheArtwork(jobId, movie));
    return this.#service.get(jobId);
  }

  /**
   * Forgets the job's link (the user's choice included) and identifies it again from its name,
   * now: the "try again" for a failed lookup, and the way back from a wrong correction. Nothing
   * changes when the lookup fails (the error is thrown). A job whose name is not known yet is
   * just unlinked; it is identified when its name arrives (with `autoIdentify`).
   */
  async identifyNow(jobId: string): Promise<Job> {
    this.#assertOpen();
    if (!this.#metadata.configured) throw new ChillyError('tmdb_not_configured');
    const job = this.#service.get(jobId);
    if (job.name === undefined) {
      this.#links.delete(jobId);
      this.#seen.delete(jobId);
    } else {
      const found = await this.#lookup(job.name);
      this.#assertOpen();
      this.#write(jobId, () => this.#links.set({ jobId, origin: 'auto', ...found, linkedAt: this.#timestamp() }));
      this.#seen.set(jobId, job.name);
      if (found.movie !== null) this.#track(this.#cacheArtwork(jobId, found.movie));
    }
    this.#cancelRetry(jobId);
    this.#service.announceUpdate(jobId);
    return this.#service.get(jobId);
  }

  /**
   * A movie's poster or backdrop as a local file: the image URL comes from a linked job's snapshot
   * (offline) or the movie's details (cache, then TMDB), the file from the disk cache, downloaded
   * first when missing. Throws `image_not_found` when TMDB has none, `tmdb_not_configured` when
   * it would have to be fetched without a key.
   */
  async artwork(tmdbId: number, kind: ArtworkKind, options: { signal?: AbortSignal } = {}): Promise<PosterFileInfo> {
    const signal = options.signal === undefined ? this.#signal : AbortSignal.any([options.signal, this.#signal]);
    const linked = this.#links.byTmdbId(tmdbId).find((link) => link.movie !== null)?.movie ?? undefined;
    const movie = linked ?? (await this.#metadata.movie(tmdbId, { signal }));
    const url = remoteArtworkUrl(movie, kind);
    const file = url === null ? null : await this.#metadata.image(url, { download: true, signal });
    if (file === null) throw new ChillyError('image_not_found', `TMDB has no ${kind} for movie ${tmdbId}.`);
    return file;
  }

  /** Resolves once no automatic lookup is queued or running (retries waiting on a timer excepted). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops listening, cancels queued lookups and retries, aborts running ones and waits for them. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe?.();
      this.#queue.length = 0;
      for (const timer of this.#retryTimers.values()) clearTimeout(timer);
      this.#retryTimers.clear();
      this.#abort.abort(new ChillyError('shutting_down', 'The server is shutting down.'));
      // Bounded: nothing new starts once closed, so each round only waits for older tasks.
      for (let round = 0; round < 10 && this.#tasks.size > 0; round += 1) {
        await Promise.allSettled([...this.#tasks]);
      }
      this.#wakeIdle();
    })();
    return this.#closed;
  }

  // ---- automatic identification -------------------------------------------------------------

  get #signal(): AbortSignal {
    return this.#abort.signal;
  }

  #onEvent(event: JobEvent): void {
    if (event.type === 'cancelled') {
      this.#forget(event.job.id);
      return;
    }
    this.#consider(event.job);
  }

  /** Queues a job whose name is new to us. Cheap when nothing changed: one map read. */
  #consider(job: Job): void {
    const { id, name } = job;
    if (name === undefined || this.#seen.get(id) === name || !this.autoIdentify) return;
    this.#seen.set(id, name);
    this.#enqueue(id);
  }

  #forget(id: string): void {
    this.#seen.delete(id);
    this.#cancelRetry(id);
    const index = this.#queue.indexOf(id);
    if (index >= 0) this.#queue.splice(index, 1);
  }

  #enqueue(id: string): void {
    if (this.#closed !== undefined || !this.autoIdentify || this.#queue.includes(id)) return;
    this.#queue.push(id);
    this.#drain();
  }

  #drain(): void {
    // One pass over the queue: a job already running stays queued until its lookup ends.
    for (let index = 0; index < this.#queue.length && this.#running.size < this.#concurrency; ) {
      const id = this.#queue[index];
      if (id === undefined || this.#running.has(id)) {
        index += 1;
        continue;
      }
      this.#queue.splice(index, 1);
      this.#running.add(id);
      const task = this.#identifyAutomatically(id)
        .catch((error: unknown) => this.#failed(id, error))
        .finally(() => {
          this.#running.delete(id);
          if (this.#closed === undefined) this.#drain();
          if (this.#isIdle()) this.#wakeIdle();
        });
      this.#track(task);
    }
  }

  async #identifyAutomatically(id: string): Promise<void> {
    if (this.#closed !== undefined || !this.autoIdentify) return;
    let job: Job;
    try {
      job = this.#service.get(id);
    } catch (error) {
      if (!isChillyError(error, 'job_not_found')) throw error;
      this.#forget(id);
      return;
    }
    if (job.name === undefined) return;
    const existing = this.#links.get(id);
    const release = this.#metadata.parse(job.name);
    // Same film as before (the magnet's `dn`, then the torrent's own name): at most a new release
    // description, no lookup. And the user's choice stands whatever the name says.
    if (existing !== undefined && (existing.origin === 'user' || sameMovieName(existing.release, release))) {
      if (!sameRelease(existing.release, release)) {
        this.#write(id, () => this.#links.set({ ...existing, release }));
        this.#service.announceUpdate(id);
      }
      return;
    }
    const found = await this.#lookup(job.name);
    if (this.#closed !== undefined) return;
    this.#attempts.delete(id);
    // A new name that finds nothing does not undo a movie found under the old one.
    if (found.movie === null && existing?.movie != null) return;
    const stored = this.#write(id, () =>
      this.#links.setAutomatic({ jobId: id, ...found, linkedAt: this.#timestamp() }),
    );
    if (!stored) return;
    this.#service.announceUpdate(id);
    if (found.movie !== null) await this.#cacheArtwork(id, found.movie);
  }

  /** The network part, outside any transaction: search (one or two requests), then details. */
  async #lookup(name: string): Promise<LookupResult> {
    const signal = this.#signal;
    const result = await this.#metadata.identify(name, { signal });
    if (result.match === null) {
      return { release: result.release, movie: null, confidence: result.candidates[0]?.confidence ?? null };
    }
    const details = await this.#metadata.movie(result.match.movie.tmdbId, { signal });
    return { release: result.release, movie: toMovieInfo(details), confidence: result.match.confidence };
  }

  #failed(id: string, error: unknown): void {
    if (this.#closed !== undefined || this.#signal.aborted) return;
    if (isChillyError(error, 'job_not_found')) {
      this.#forget(id);
      return;
    }
    if (isChillyError(error, 'tmdb_key_rejected')) {
      if (!this.#keyRejected) {
        this.#keyRejected = true;
        this.#queue.length = 0;
        for (const timer of this.#retryTimers.values()) clearTimeout(timer);
        this.#retryTimers.clear();
        this.#warn(
          'TMDB rejected the configured API key or read token: automatic movie identification is off until the server restarts.',
          error,
        );
      }
      return;
    }
    const attempt = (this.#attempts.get(id) ?? 0) + 1;
    this.#attempts.set(id, attempt);
    const delay = this.#retryDelays[attempt - 1];
    const reason = error instanceof Error ? error.message : String(error);
    if (delay === undefined) {
      this.#attempts.delete(id);
      this.#warn(
        `Job ${id}: could not identify its movie (${reason}); giving up until the server restarts or the user asks again.`,
        error,
      );
      return;
    }
    this.#warn(`Job ${id}: could not identify its movie (${reason}); trying again in ${Math.ceil(delay / 1000)} s.`);
    clearTimeout(this.#retryTimers.get(id));
    const timer = setTimeout(() => {
      this.#retryTimers.delete(id);
      this.#enqueue(id);
    }, delay);
    timer.unref();
    this.#retryTimers.set(id, timer);
  }

  #cancelRetry(id: string): void {
    const timer = this.#retryTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#retryTimers.delete(id);
    this.#attempts.delete(id);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * Fetches the poster once, so the job shows it offline (a backdrop, larger and shown less, is
   * fetched when first shown). Never throws: a missing poster is cosmetic.
   */
  async #cacheArtwork(jobId: string, movie: MovieSnapshot): Promise<void> {
    if (movie.posterUrl === null || this.#closed !== undefined) return;
    try {
      await this.#metadata.image(movie.posterUrl, { download: true, signal: this.#signal });
    } catch (error) {
      if (this.#closed === undefined) {
        this.#warn(`Job ${jobId}: could not cache the poster of "${movie.title}"; it is fetched when shown.`, error);
      }
    }
  }

  /** A link write; a job removed meanwhile is `job_not_found`, not a constraint error. */
  #write<T>(jobId: string, write: () => T): T {
    try {
      return write();
    } catch (error) {
      if (isForeignKeyError(error)) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(jobId)}.`);
      throw error;
    }
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch(() => undefined);
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && (this.#queue.length === 0 || this.#closed !== undefined);
  }

  #wakeIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #timestamp(): string {
    return new Date(this.#now()).toISOString();
  }

  #assertOpen(): void {
    if (this.#closed !== undefined) throw new ChillyError('shutting_down', 'The server is shutting down.');
  }
}
