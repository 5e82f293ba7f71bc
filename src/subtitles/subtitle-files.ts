/**
 * The subtitle tracks a torrent carries: which of its files are SRT, ASS/SSA or WebVTT
 * subtitles, what language each is in, and which video file each belongs to, so that every
 * player (browser, Electron, external) can be offered the right tracks for the film it plays.
 *
 * Pure: works on the torrent's file list (torrent-relative '/'-separated paths and lengths),
 * reads no file. A subtitle belongs to the video whose name it starts with (`Movie.mkv`,
 * `Movie.en.srt`), in the same folder or in a `Subs`/`Subtitles` folder beside it; else to the
 * video named by its folder (`Subs/<video name>/2_English.srt`, as many releases lay them out);
 * else to the only video of its folder (or of the folder holding its `Subs` folder); else to the
 * torrent's only video. Sample clips (`Sample/…`, `movie-sample.mkv`) are not counted as the
 * only video.
 */
import { isVideoExtension } from '../domain/media-types.js';
import { languageFromName, type SubtitleLanguage, subtitleFlags } from './subtitle-language.js';

export const SUBTITLE_FORMATS = ['srt', 'ass', 'ssa', 'vtt'] as const;
export type SubtitleFormat = (typeof SUBTITLE_FORMATS)[number];

/** A subtitle is text: a file larger than this is something else, and is never read whole into memory. */
export const MAX_SUBTITLE_BYTES = 10 * 1024 * 1024;

export interface SubtitleTrack {
  /** Index of the subtitle in the torrent's file list. */
  index: number;
  path: string;
  format: SubtitleFormat;
  language: SubtitleLanguage | null;
  forced: boolean;
  sdh: boolean;
  /** Index (in the file list) of the video the subtitle belongs to; null when it cannot be told. */
  videoIndex: number | null;
  /** What a player shows: "English", "English (forced)", "French (SDH)", or the file name when no language is known. */
  label: string;
}

/** Folder names releases put subtitles in. */
const SUBTITLE_FOLDERS = new Set(['subs', 'sub', 'subtitles', 'subtitle']);

/** After a video's name, a subtitle's name goes on with one of these (or ends): `Movie.en`, `Movie_eng`, `Movie [SDH]`. */
const NAME_CONTINUES = /^[\s._\-[(]/;

interface PathParts {
  folders: string[];
  name: string;
  /** The name without its extension. */
  stem: string;
  /** Lower case, without the dot. */
  extension: string;
}

interface Video extends PathParts {
  index: number;
  path: string;
  folder: string;
  stemKey: string;
  sample: boolean;
}

function pathParts(path: string): PathParts {
  const components = path.split('/');
  const name = components.pop() ?? '';
  const dot = name.lastIndexOf('.');
  return {
    folders: components,
    name,
    stem: dot > 0 ? name.slice(0, dot) : name,
    extension: dot > 0 ? name.slice(dot + 1).toLowerCase() : '',
  };
}

/** The subtitle format a file's extension names, or null. */
export function subtitleFormatOf(path: string): SubtitleFormat | null {
  const { extension } = pathParts(path);
  return (SUBTITLE_FORMATS as readonly string[]).includes(extension) ? (extension as SubtitleFormat) : null;
}

function isSubtitleFolder(component: string): boolean {
  return SUBTITLE_FOLDERS.has(component.toLowerCase());
}

function isSample(parts: PathParts): boolean {
  return (
    parts.folders.some((folder) => /^samples?$/i.test(folder)) || /(^|[^a-z0-9])sample([^a-z0-9]|$)/i.test(parts.stem)
  );
}

function byPath<T extends { path: string; index: number }>(a: T, b: T): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return a.index - b.index;
}

/**
 * The video whose name the subtitle's starts with, beside it or in a subtitle folder in the
 * video's folder (at any depth below it). The longest such name wins (`Movie.Part.1` over `Movie`).
 */
function videoNamedBy(videos: readonly Video[], sub: PathParts): { video: Video; rest: string } | null {
  const stemKey = sub.stem.toLowerCase();
  let best: Video | null = null;
  for (const video of videos) {
    if (!stemKey.startsWith(video.stemKey)) continue;
    if (stemKey.length > video.stemKey.length && !NAME_CONTINUES.test(stemKey.slice(video.stemKey.length))) continue;
    const sameFolder = sub.folders.join('/') === video.folder;
    const inSubtitleFolder =
      sub.folders.length > video.folders.length &&
      video.folders.every((folder, i) => sub.folders[i] === folder) &&
      isSubtitleFolder(sub.folders[video.folders.length] ?? '');
    if (!sameFolder && !inSubtitleFolder) continue;
    if (!best || video.stemKey.length > best.stemKey.length) best = video;
  }
  return best ? { video: best, rest: sub.stem.slice(best.stemKey.length) } : null;
}

/** `<video folder>/Subs/<video name>/x.srt`. */
function videoNamedByFolder(videos: readonly Video[], sub: PathParts): Video | null {
  const folders = sub.folders;
  const named = folders.at(-1)?.toLowerCase();
  if (named === undefined || folders.length < 2 || !isSubtitleFolder(folders.at(-2) ?? '')) return null;
  const parent = folders.slice(0, -2).join('/');
  return videos.find((video) => video.stemKey === named && video.folder === parent) ?? null;
}

/** The one video (samples aside, unless there is nothing else) among `videos`, or null. */
function onlyVideo(videos: readonly Video[]): Video | null {
  const main = videos.filter((video) => !video.sample);
  const pool = main.length > 0 ? main : videos;
  return pool.length === 1 ? (pool[0] ?? null) : null;
}

/** The folder a subtitle is "in" for matching: the one holding its `Subs` folder, if it is in one. */
function owningFolder(sub: PathParts): string {
  const subsAt = sub.folders.findIndex(isSubtitleFolder);
  return (subsAt < 0 ? sub.folders : sub.folders.slice(0, subsAt)).join('/');
}

function labelOf(language: SubtitleLanguage | null, flags: { forced: boolean; sdh: boolean }, name: string): string {
  if (!language) return name;
  const notes = [...(flags.forced ? ['forced'] : []), ...(flags.sdh ? ['SDH'] : [])];
  return notes.length > 0 ? `${language.name} (${notes.join(', ')})` : language.name;
}

/**
 * The subtitle tracks among a torrent's files, in path order. Files that are empty or larger
 * than MAX_SUBTITLE_BYTES are skipped (they are not subtitles). Labels are made unique per video
 * by numbering repeats ("English", "English (2)").
 */
export function findSubtitles(files: readonly { path: string; length: number }[]): SubtitleTrack[] {
  const videos: Video[] = [];
  const subtitles: { index: number; path: string; format: SubtitleFormat; parts: PathParts }[] = [];
  files.forEach((file, index) => {
    const path = typeof file.path === 'string' ? file.path : '';
    const parts = pathParts(path);
    if (isVideoExtension(`.${parts.extension}`)) {
      videos.push({
        ...parts,
        index,
        path,
        folder: parts.folders.join('/'),
        stemKey: parts.stem.toLowerCase(),
        sample: isSample(parts),
      });
      return;
    }
    const format = subtitleFormatOf(path);
    const length = file.length;
    if (format && Number.isFinite(length) && length > 0 && length <= MAX_SUBTITLE_BYTES) {
      subtitles.push({ index, path, format, parts });
    }
  });
  videos.sort(byPath);
  subtitles.sort(byPath);

  const tracks = subtitles.map(({ index, path, format, parts }): SubtitleTrack => {
    const named = videoNamedBy(videos, parts);
    const folder = parts.folders.join('/');
    // What follows the video's name is what describes the subtitle: "It.srt" beside "It.mkv" names no language.
    const described = named ? `${named.rest}.${parts.extension}` : parts.name;
    const video =
      named?.video ??
      videoNamedByFolder(videos, parts) ??
      onlyVideo(videos.filter((candidate) => candidate.folder === owningFolder(parts))) ??
      onlyVideo(videos);
    const language = languageFromName(described, folder);
    const flags = subtitleFlags(described);
    return {
      index,
      path,
      format,
      language,
      forced: flags.forced,
      sdh: flags.sdh,
      videoIndex: video?.index ?? null,
      label: labelOf(language, flags, parts.name),
    };
  });

  const seen = new Map<string, number>();
  for (const track of tracks) {
    const key = `${track.videoIndex ?? ''}\u0000${track.label}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count > 1) track.label = `${track.label} (${count})`;
  }
  return tracks;
}
