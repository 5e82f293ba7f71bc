/**
 * A job's subtitles: the subtitle files among its files (src/subtitles/subtitle-files.ts), and each
 * one read — before the download is over too, its pieces fetched first — and converted to WebVTT
 * in UTF-8 (src/subtitles/webvtt.ts) for the players' `<track>` and any other player. Once a
 * film's video is whole on disk, the text tracks inside it are offered too when ffmpeg is
 * installed (src/subtitles/embedded-tracks.ts), numbered after the files.
 */
import { statSync } from 'node:fs';
import { ChillyError } from '../domain/errors.js';
import type { Job, JobFile, JobSubtitle } from '../domain/job.js';
import { type EmbeddedTextTrack, extractWebVtt, probeTextTracks } from '../subtitles/embedded-tracks.js';
import { findSubtitles, MAX_SUBTITLE_BYTES } from '../subtitles/subtitle-files.js';
import { toWebVtt } from '../subtitles/webvtt.js';
import type { JobFileStream } from './download-service-api.js';
import { isVideoFile, mainFileIndex } from './job-files.js';

/** Converted subtitles kept (a player asks again on every seek or reload; a large ASS takes seconds). */
const CACHE_ENTRIES = 16;

/** How many jobs' subtitle files `JobSubtitleReader` remembers. */
const MAX_REMEMBERED_JOBS = 4096;

/** Whether two file lists name the same files (path and length), in the same order. */
function sameFiles(a: readonly JobFile[], b: readonly JobFile[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.path !== y.path || x.length !== y.length) return false;
  }
  return true;
}

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
    embedded: false,
    stream: null,
  }));
}

const FORMAT_OF_CODEC: Record<string, JobSubtitle['format']> = { ass: 'ass', ssa: 'ssa', webvtt: 'vtt' };

/** The text tracks inside a job's video as subtitles numbered from `first`. */
function embeddedSubtitles(
  tracks: readonly EmbeddedTextTrack[],
  video: number,
  path: string,
  first: number,
): JobSubtitle[] {
  return tracks.map((track, i) => {
    const name = track.language?.name ?? track.title ?? `Track ${track.stream}`;
    const flags = [track.forced ? 'forced' : '', track.sdh ? 'SDH' : ''].filter((flag) => flag !== '');
    return {
      n: first + i,
      fileIndex: video,
      path,
      format: FORMAT_OF_CODEC[track.codec] ?? 'srt',
      language: track.language,
      forced: track.forced,
      sdh: track.sdh,
      videoIndex: video,
      label: `${name}${flags.length === 0 ? '' : ` (${flags.join(', ')})`} · in the video`,
      embedded: true,
      stream: track.stream,
    };
  });
}

export interface SubtitleSource {
  get(id: string): Job;
  openFile(id: string, fileIndex?: number): Promise<JobFileStream>;
  /** Where a job's file is on this machine, when its driver keeps files here. */
  localPath(job: Job, fileIndex: number): string | undefined;
  /** The job's view changed (its embedded tracks are known): announce it. */
  changed(id: string): void;
}

export class JobSubtitleReader {
  private readonly cache = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Text tracks inside each job's finished video, with the file (path, size, time) they were read from. */
  private readonly probed = new Map<string, { key: string; path: string; tracks: EmbeddedTextTrack[] }>();
  private readonly probing = new Set<string>();
  private probes: Promise<void> = Promise.resolve();
  /**
   * Each job's subtitle files as last worked out, with the file list they came from: every view of
   * a job (each list row, each progress event) needs them, and the list rarely changes.
   */
  private readonly fileTracks = new Map<string, { files: readonly JobFile[]; tracks: readonly JobSubtitle[] }>();

  constructor(private readonly source: SubtitleSource) {}

  /** Every subtitle of the job: its files, then (once probed) the text tracks inside its video. */
  all(job: Job, options: { probe?: boolean } = {}): JobSubtitle[] {
    const files = job.files ?? [];
    const own = this.fileSubtitles(job.id, files);
    if (job.status !== 'completed' || files.length === 0) return own;
    const video = mainFileIndex(files);
    const file = files[video];
    if (file === undefined || !isVideoFile(file.path)) return own;
    // Lists show what is known; only a look at one job (or a read of its subtitles) checks the file
    // and starts a probe, so a page of hundreds of jobs never stats or spawns anything.
    if (options.probe === true) this.probeIfChanged(job, video);
    const known = this.probed.get(job.id);
    if (known === undefined || known.path !== file.path) return own;
    return [...own, ...embeddedSubtitles(known.tracks, video, file.path, own.length)];
  }

  /** `jobSubtitles(files)`, worked out again only when the job's file list is not the one of last time. */
  private fileSubtitles(id: string, files: readonly JobFile[]): JobSubtitle[] {
    const known = this.fileTracks.get(id);
    if (known !== undefined && sameFiles(known.files, files)) return [...known.tracks];
    const tracks = jobSubtitles(files);
    // Bounded: jobs come and go; a job forgotten here is only worked out again.
    if (this.fileTracks.size >= MAX_REMEMBERED_JOBS) this.fileTracks.clear();
    this.fileTracks.set(id, { files: files.map((file) => ({ ...file })), tracks });
    return [...tracks];
  }

  /** Probes the job's video unless it was probed as it is now (same size and time). */
  private probeIfChanged(job: Job, video: number): void {
    const where = this.source.localPath(job, video);
    const file = job.files?.[video];
    if (where === undefined || file === undefined) return;
    let key: string;
    try {
      const stats = statSync(where);
      key = `${where}\0${stats.size}\0${stats.mtimeMs}`;
    } catch {
      return;
    }
    if (this.probed.get(job.id)?.key === key || this.probing.has(key)) return;
    this.probing.add(key);
    // One probe at a time: ffprobe runs are cheap, but spawning many at once stalls the event loop.
    this.probes = this.probes
      .then(() => probeTextTracks(where))
      .then(
        (tracks) => {
          this.probed.set(job.id, { key, path: file.path, tracks });
          if (tracks.length > 0) this.source.changed(job.id);
        },
        () => {
          this.probed.set(job.id, { key, path: file.path, tracks: [] });
        },
      )
      .finally(() => this.probing.delete(key));
  }

  /** Subtitle `n` of job `id` as WebVTT; waits (at most `timeoutMs`) for its pieces when not on disk yet. */
  async webVtt(id: string, n: number, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    const job = this.source.get(id);
    const subtitle = this.all(job, { probe: true }).find((candidate) => candidate.n === n);
    if (subtitle === undefined) {
      throw new ChillyError(
        'subtitle_not_found',
        job.files === undefined
          ? `Job ${JSON.stringify(id)}'s files are not known yet (its metadata has not arrived).`
          : `Job ${JSON.stringify(id)} has no subtitle number ${n}.`,
      );
    }
    const key = `${job.infoHash ?? job.sourceUrn}\0${subtitle.fileIndex}\0${subtitle.stream ?? ''}`;
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
    if (subtitle.stream !== null) {
      const where = this.source.localPath(this.source.get(id), subtitle.fileIndex);
      if (where === undefined)
        throw new ChillyError('subtitle_not_found', `Job ${JSON.stringify(id)} has no video here.`);
      const text = await extractWebVtt(where, subtitle.stream);
      this.keep(key, text);
      return text;
    }
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
    if (filled === file.length) this.keep(key, text);
    return text;
  }

  private keep(key: string, text: string): void {
    this.cache.set(key, text);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= CACHE_ENTRIES) break;
      this.cache.delete(oldest);
    }
  }
}
