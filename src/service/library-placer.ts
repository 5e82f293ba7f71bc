/**
 * Keeps the library folder (CHILLY_LIBRARY_DIR, src/library/library-folder.ts) in step with the
 * jobs: a job that completes and is linked to a film (TMDB, or its release name) appears there as
 * `Title (Year)/Title (Year).ext` with its subtitles and a `movie.nfo`, hard-linked when the
 * library is on the same file system (the torrent keeps seeding from its own folder) or copied;
 * a job linked to another film later is renamed there; a job cancelled with its data deleted
 * leaves the library too (only files still as Chilly placed them: never one the user changed).
 *
 * At start, temporary files a crash left are deleted and completed films missing from the library
 * are placed: a restart finishes what a crash interrupted.
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { isChillyError } from '../domain/errors.js';
import type { Job } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import { LibraryFolder, type LibraryListing, type LibraryPlacement } from '../library/library-folder.js';

export type { LibraryListing } from '../library/library-folder.js';

import { parseReleaseName } from '../metadata/release-name.js';
import type { LibraryEntriesRepository } from '../storage/library-entries-repository.js';
import type { DownloadServiceApi } from './download-service-api.js';
import { mainFileIndex } from './job-files.js';
import { jobSubtitles } from './job-subtitles.js';
import { allJobs } from './paging.js';

export interface LibraryPlacerOptions {
  /** The library folder (made when missing). */
  root: string;
  entries: LibraryEntriesRepository;
  service: Pick<DownloadServiceApi, 'get' | 'list' | 'subscribe' | 'engine'>;
  warn: (message: string, cause?: unknown) => void;
  /** The film's poster (JPEG) by TMDB id, for `poster.jpg`; null when there is none. */
  poster?: (tmdbId: number) => Promise<Uint8Array | null>;
}

/** The film a job is placed as, from its TMDB link or else its release name; undefined when neither says. */
interface FilmOf {
  key: string;
  title: string;
  year: number | null;
  tmdbId: number | null;
  runtime: number | null;
  quality: string | null;
}

export function filmOf(job: Job): FilmOf | undefined {
  const parsed = job.name === undefined ? undefined : parseReleaseName(job.name);
  const quality = job.movie?.release.resolution ?? parsed?.resolution ?? null;
  if (job.movie !== undefined && job.movie !== null) {
    const { tmdbId, title, year, runtime } = job.movie;
    return { key: `tmdb:${tmdbId}`, title, year: year ?? null, tmdbId, runtime: runtime ?? null, quality };
  }
  if (parsed === undefined || parsed.title === '') return undefined;
  return {
    key: `name:${parsed.title.toLowerCase()}|${parsed.year ?? ''}`,
    title: parsed.title,
    year: parsed.year,
    tmdbId: null,
    runtime: null,
    quality,
  };
}

export class LibraryPlacer {
  private unsubscribe: (() => void) | undefined;
  /** One change at a time, in order (the library folder serialises too; this keeps the database in step). */
  private chain: Promise<void> = Promise.resolve();
  private readonly library: LibraryFolder;
  /** Films being copied into the library now (another file system), with how far. */
  private readonly copies = new Map<string, { bytesDone: number; bytesTotal: number }>();

  constructor(private readonly options: LibraryPlacerOptions) {
    this.library = new LibraryFolder({ root: options.root });
  }

  /** Cleans up after a crash, places what is missing, then follows the jobs. */
  start(): void {
    this.unsubscribe = this.options.service.subscribe((event) => this.onEvent(event));
    this.enqueue('recovering the library folder', async () => {
      await this.library.recover();
      for (const job of allJobs(this.options.service, ['completed'])) await this.place(job);
    });
  }

  /** What the library folder holds. */
  list(): Promise<LibraryListing[]> {
    return this.library.list();
  }

  /** Films being copied into the library now, with their progress. */
  copying(): { jobId: string; bytesDone: number; bytesTotal: number }[] {
    return [...this.copies].map(([jobId, progress]) => ({ jobId, ...progress }));
  }

  get root(): string {
    return this.library.root;
  }

  /** Stops following the jobs; waits for the change in progress. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.chain;
  }

  /** Waits until every change asked for so far is done (for tests and shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  private onEvent(event: JobEvent): void {
    const { job } = event;
    if (event.type === 'completed' || (event.type === 'updated' && job.status === 'completed')) {
      this.enqueue(`placing ${job.id} in the library`, () => this.place(job));
    } else if (event.type === 'cancelled') {
      this.enqueue(`removing ${job.id} from the library`, () => this.forget(job));
    }
  }

  private enqueue(what: string, work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => this.options.warn(`Library: ${what} failed`, error));
  }

  private async place(job: Job): Promise<void> {
    const film = filmOf(job);
    if (film === undefined || job.files === undefined || job.files.length === 0 || job.savePath === undefined) return;
    const stored = this.options.entries.get(job.id);
    if (stored?.movieKey === film.key) return;
    if (!this.options.service.engine().capabilities.localFiles) return;
    const main = mainFileIndex(job.files);
    const video = job.files[main];
    if (video === undefined) return;
    const fileOf = (relative: string) => path.join(job.savePath ?? '', ...relative.split('/'));
    if (!existsSync(fileOf(video.path))) return;
    const poster =
      film.tmdbId === null || this.options.poster === undefined
        ? null
        : await this.options.poster(film.tmdbId).catch((error: unknown) => {
            // A film without artwork is common; other failures (TMDB down) are worth a line.
            if (!isChillyError(error, 'image_not_found')) this.options.warn(`Library: no poster for ${job.id}`, error);
            return null;
          });
    const existing = stored === undefined ? null : (JSON.parse(stored.placementJson) as LibraryPlacement);
    const placement = await this.library
      .place(
        {
          jobId: job.id,
          movie: { title: film.title, year: film.year, tmdbId: film.tmdbId, runtimeMinutes: film.runtime },
          quality: film.quality,
          video: { path: fileOf(video.path) },
          subtitles: jobSubtitles(job.files)
            .filter((subtitle) => subtitle.videoIndex === null || subtitle.videoIndex === main)
            .map((subtitle) => ({
              path: fileOf(subtitle.path),
              language: subtitle.language?.code ?? null,
              forced: subtitle.forced,
              sdh: subtitle.sdh,
              format: subtitle.format,
            })),
          poster,
          existing,
        },
        {
          onProgress: (done, total) => {
            if (done < total) this.copies.set(job.id, { bytesDone: done, bytesTotal: total });
            else this.copies.delete(job.id);
          },
        },
      )
      .finally(() => this.copies.delete(job.id));
    this.options.entries.set({ jobId: job.id, movieKey: film.key, placementJson: JSON.stringify(placement) });
  }

  /** A cancelled job: its library entry goes with its data (only what is still as Chilly placed it). */
  private async forget(job: Job): Promise<void> {
    const stored = this.options.entries.get(job.id);
    if (stored === undefined) return;
    const main = job.files === undefined || job.files.length === 0 ? undefined : job.files[mainFileIndex(job.files)];
    const dataKept =
      main !== undefined && job.savePath !== undefined && existsSync(path.join(job.savePath, ...main.path.split('/')));
    if (!dataKept) {
      const { kept } = await this.library.remove(JSON.parse(stored.placementJson) as LibraryPlacement);
      if (kept.length > 0) this.options.warn(`Library: kept files the user changed: ${kept.slice(0, 5).join(', ')}`);
    }
    this.options.entries.delete(job.id);
  }
}
