/**
 * A job's subtitles: the subtitle files among its files (src/subtitles/subtitle-files.ts), and each
 * one read — before the download is over too, its pieces fetched first — and converted to WebVTT
 * in UTF-8 (src/subtitles/webvtt.ts) for the players' `<track>` and any other player.
 */
import { ChillyError } from '../domain/errors.js';
import type { Job, JobFile, JobSubtitle } from '../domain/job.js';
import { findSubtitles, MAX_SUBTITLE_BYTES } from '../subtitles/subtitle-files.js';
import { toWebVtt } from '../subtitles/webvtt.js';
import type { JobFileStream } from './download-service-api.js';

/** Converted subtitles kept (a player asks again on every seek or reload; a large ASS takes seconds). */
const CACHE_ENTRIES = 16;

/** The subtitle files among a job's files, numbered from 0 in path order. */
export function jobSubtitles(files: readonly JobFile[]): JobSubtitle[] {
  return findSubtitles(files).map((track, n) => ({
    n,
    fileIndex: track.index,
    path: track.path,
    format: track.format,
    language: track.language === null ? null : { code: track.language.code, name: track.language.name },
    forced: track.forced,
    sdh: track.sdh,
    videoIndex: track.videoIndex,
    label: track.label,
  }));
}

export interface SubtitleSource {
  get(id: string): Job;
  openFile(id: string, fileIndex?: number): Promise<JobFileStream>;
}

export class JobSubtitleReader {
  private readonly cache = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly source: SubtitleSource) {}

  /** Subtitle `n` of job `id` as WebVTT; waits (at most `timeoutMs`) for its pieces when not on disk yet. */
  async webVtt(id: string, n: number, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    const job = this.source.get(id);
    const subtitle = jobSubtitles(job.files ?? []).find((candidate) => candidate.n === n);
    if (subtitle === undefined) {
      throw new ChillyError(
        'subtitle_not_found',
        job.files === undefined
          ? `Job ${JSON.stringify(id)}'s files are not known yet (its metadata has not arrived).`
          : `Job ${JSON.stringify(id)} has no subtitle number ${n}.`,
      );
    }
    const key = `${job.infoHash ?? job.sourceUrn}\0${subtitle.fileIndex}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    // A player asks again on every seek: one read of a subtitle at a time, shared.
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const reading = this.read(id, subtitle, key, options).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, reading);
    return reading;
  }

  private async read(
    id: string,
    subtitle: JobSubtitle,
    key: string,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<string> {
    const file = await this.source.openFile(id, subtitle.fileIndex);
    if (file.length > MAX_SUBTITLE_BYTES) {
      throw new ChillyError('subtitle_unreadable', `The subtitle ${subtitle.path} is larger than 10 MiB.`);
    }
    const bytes = Buffer.alloc(file.length);
    let filled = 0;
    if (file.length > 0) {
      for await (const chunk of file.read(0, file.length - 1, options)) {
        bytes.set(chunk, filled);
        filled += chunk.byteLength;
      }
    }
    const text = toWebVtt(bytes.subarray(0, filled), subtitle.format, subtitle.path);
    // Every byte read was verified on disk (the reader waits for missing pieces): safe to keep.
    if (filled === file.length) {
      this.cache.set(key, text);
      for (const oldest of this.cache.keys()) {
        if (this.cache.size <= CACHE_ENTRIES) break;
        this.cache.delete(oldest);
      }
    }
    return text;
  }
}
