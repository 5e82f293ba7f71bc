/**
 * Release and file names → what they say about the movie: "The.Matrix.1999.1080p.BluRay.x264-GRP"
 * is The Matrix (1999), 1080p, BluRay, H.264, group GRP.
 *
 * Built on @ctrl/video-filename-parser (a port of Radarr's parser) for title, year, edition and
 * group, with fixes for what it gets wrong (each one covered in tests/unit/metadata-release-name.test.ts):
 * - Non-Latin titles: its patterns treat every non-ASCII letter as a separator, so "Три богатыря
 *   2004" came out as "Т.". Words with non-ASCII characters are swapped for ASCII placeholders
 *   before parsing and swapped back after.
 * - Only the first underscore became a space ("Le Fabuleux_Destin_d_Amelie").
 * - A lone initial kept its dot as if it were an acronym ("M.1931" → "M.", "Y.Tu.Mama" → "Y. Tu").
 * - Paths: the folder a file sits in is used when the file name alone has no year.
 * - Resolution and source are only what the name says. The library reports Radarr's quality
 *   *guess* ("1080p" alone becomes WEB-DL, XviD turns a 720p BRRip into 480p DVD).
 * - Codecs written "H.264"/"H.265"/"AVC"/"AV1" were not recognised.
 */
import {
  filenameParse,
  type Edition as LibraryEdition,
  parseGroup,
  parseResolution,
  parseSourceGroups,
  removeFileExtension,
} from '@ctrl/video-filename-parser';
import type { ReleaseName } from '../domain/movie.js';

export const VIDEO_RESOLUTIONS = ['2160p', '1080p', '720p', '576p', '540p', '480p'] as const;
export type VideoResolution = (typeof VIDEO_RESOLUTIONS)[number];

export const VIDEO_SOURCES = [
  'bluray',
  'web-dl',
  'webrip',
  'tv',
  'dvd',
  'screener',
  'telecine',
  'telesync',
  'cam',
  'workprint',
  'ppv',
] as const;
export type VideoSource = (typeof VIDEO_SOURCES)[number];

/** Codec families: x264 and H.264 are both 'h264', x265/HEVC 'h265', XviD/DivX 'xvid'. */
export const VIDEO_CODECS = ['h265', 'h264', 'av1', 'vc1', 'mpeg2', 'xvid', 'wmv'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

export const EDITIONS = [
  'extended',
  'directors-cut',
  'final-cut',
  'theatrical',
  'unrated',
  'remastered',
  'imax',
  'criterion',
  'fan-edit',
  '3d',
] as const;
export type Edition = (typeof EDITIONS)[number];

/** What a release name says (the shape is the domain's, shared with the movie links). */
export type ParsedReleaseName = ReleaseName;

// A "word" is a run of letters, marks and digits of any script.
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
const ASCII_ONLY = /^[\u0000-\u007f]*$/;

function letters(index: number): string {
  let suffix = '';
  let n = index;
  do {
    suffix = String.fromCharCode(97 + (n % 26)) + suffix;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return suffix;
}

/** Swaps words with non-ASCII characters for ASCII placeholders the library leaves alone. */
function protectNonAscii(name: string): { safe: string; restore: (text: string) => string } {
  if (ASCII_ONLY.test(name)) return { safe: name, restore: (text) => text };
  // A prefix the name does not contain, so a placeholder never meets a real word (bounded: one more q each time).
  let prefix = 'Xuq';
  while (name.toLowerCase().includes(prefix.toLowerCase())) prefix += 'q';
  const originals = new Map<string, string>();
  const safe = name.replace(WORD, (word) => {
    if (ASCII_ONLY.test(word)) return word;
    const token = `${prefix}${letters(originals.size)}`;
    originals.set(token, word);
    return token;
  });
  const placeholder = new RegExp(`${prefix}[a-z]+`, 'g');
  const restore = (text: string): string => text.replace(placeholder, (token) => originals.get(token) ?? token);
  return { safe, restore };
}

function cleanTitle(title: string): string {
  return (
    title
      // An initial on its own ("Y. Tu Mamá", "M.") is not an acronym; "L.A." and "S.W.A.T." are.
      .replace(/(?<![A-Za-z]\.)(^|\s)([A-Za-z])\.(?=\s|$)/g, '$1$2')
      .replace(/\s+/g, ' ')
      .replace(/^[\s\-–([{]+|[\s\-–([{]+$/g, '')
      .trim()
  );
}

/** Index in `name` just past the title, found by matching letters and digits only. */
function endOfTitle(name: string, title: string): number {
  const key = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  const wanted = key(title);
  if (wanted === '') return 0;
  const positions: number[] = [];
  let compact = '';
  for (let index = 0; index < name.length; index++) {
    const char = name.charAt(index).toLowerCase();
    if (/[a-z0-9]/.test(char)) {
      compact += char;
      positions.push(index);
    }
  }
  const start = compact.indexOf(wanted);
  if (start < 0) return 0;
  return (positions[start + wanted.length - 1] ?? -1) + 1;
}

const RESOLUTIONS: Record<string, VideoResolution> = {
  R2160P: '2160p',
  R1080P: '1080p',
  R720P: '720p',
  R576P: '576p',
  R540P: '540p',
  R480P: '480p',
};

function resolutionOf(technical: string): VideoResolution | null {
  const found = parseResolution(technical);
  // No `source` means the library guessed (e.g. DVD → 480p) rather than read it.
  if (found.source === undefined || found.resolution === undefined) return null;
  const key = Object.entries(RESOLUTIONS).find(([name]) => name === `R${found.resolution}`)?.[1];
  return key ?? null;
}

function sourceOf(technical: string): VideoSource | null {
  const groups = parseSourceGroups(technical);
  // Theatre captures first: a "DVDSCR" or "HDCAM" tag decides what the file really is.
  if (groups.cam) return 'cam';
  if (groups.ts) return 'telesync';
  if (groups.tc) return 'telecine';
  if (groups.scr) return 'screener';
  if (groups.workprint) return 'workprint';
  if (groups.bluray || groups.bdrip || groups.brrip || /\b(?:BD|UHD)?Remux\b/i.test(technical)) return 'bluray';
  if (groups.webrip) return 'webrip';
  if (groups.webdl || /\bWEB\b/i.test(technical)) return 'web-dl';
  if (groups.hdtv || groups.pdtv || groups.sdtv || groups.dsr || groups.tvrip) return 'tv';
  if (groups.dvdr || groups.dvd) return 'dvd';
  if (groups.ppv) return 'ppv';
  return null;
}

const CODECS: ReadonlyArray<[RegExp, VideoCodec]> = [
  [/\b(?:[xh][ .]?265|HEVC)\b/i, 'h265'],
  [/\b(?:[xh][ .]?264|AVC)\b/i, 'h264'],
  [/\bAV1\b/i, 'av1'],
  [/\bVC-?1\b/i, 'vc1'],
  [/\bMPEG-?2\b/i, 'mpeg2'],
  [/\b(?:X-?vid(?:HD)?|DivX)\b/i, 'xvid'],
  [/\bWMV\b/i, 'wmv'],
];

function codecOf(technical: string): VideoCodec | null {
  return CODECS.find(([pattern]) => pattern.test(technical))?.[1] ?? null;
}

const LIBRARY_EDITIONS: ReadonlyArray<[keyof LibraryEdition, Edition]> = [
  ['extended', 'extended'],
  ['directors', 'directors-cut'],
  ['theatrical', 'theatrical'],
  ['unrated', 'unrated'],
  ['remastered', 'remastered'],
  ['imax', 'imax'],
  ['fanEdit', 'fan-edit'],
  ['threeD', '3d'],
];

function editionsOf(library: LibraryEdition, technical: string): Edition[] {
  const found = new Set<Edition>();
  for (const [flag, edition] of LIBRARY_EDITIONS) if (library[flag] === true) found.add(edition);
  if (/\bFinal[ ._-]Cut\b/i.test(technical)) found.add('final-cut');
  if (/\bCriterion\b/i.test(technical)) found.add('criterion');
  return EDITIONS.filter((edition) => found.has(edition));
}

/** One name, no path. */
function parseOne(raw: string): ParsedReleaseName {
  const name = removeFileExtension(raw.trim());
  // Underscores as separators: dotted names are what the library knows best.
  const separated = name.includes(' ') ? name.replace(/_/g, ' ') : name.replace(/_/g, '.');
  const { safe, restore } = protectNonAscii(separated);
  let parsed: ReturnType<typeof filenameParse>;
  try {
    parsed = filenameParse(safe);
  } catch {
    // The library is regex-only and has not been seen to throw; should it, the name is the title.
    return {
      title: cleanTitle(name),
      year: null,
      resolution: null,
      source: null,
      codec: null,
      edition: [],
      group: null,
    };
  }
  const yearNumber = parsed.year === null ? null : Number(parsed.year);
  const technical = safe.slice(endOfTitle(safe, parsed.title)).replace(/[[\]]/g, ' ');
  const group = parsed.group ?? safeGroup(safe);
  return {
    title: cleanTitle(restore(parsed.title)),
    year: yearNumber !== null && Number.isInteger(yearNumber) ? yearNumber : null,
    resolution: resolutionOf(technical),
    source: sourceOf(technical),
    codec: codecOf(technical),
    edition: editionsOf(parsed.edition, technical),
    group: group === null || group === '' ? null : restore(group),
  };
}

function safeGroup(name: string): string | null {
  try {
    return parseGroup(name);
  } catch {
    return null;
  }
}

/**
 * Parses a torrent name, a file name or a path ("Movie (2016)/Movie.2016.1080p.mkv", either
 * slash). For a path, the file name is read first; when it has no year (obfuscated or bare file
 * names), the nearest folder that has one supplies title and year, and the file still supplies
 * the technical details it has.
 */
export function parseReleaseName(input: string): ParsedReleaseName {
  const segments = input
    .split(/[\\/]/)
    .map((segment) => segment.trim())
    .filter((segment) => segment.length > 0);
  const last = segments.at(-1);
  if (last === undefined) {
    return { title: '', year: null, resolution: null, source: null, codec: null, edition: [], group: null };
  }
  const file = parseOne(last);
  if (file.year !== null || segments.length === 1) return file;
  // Nearest folder first; bounded by the path's own length.
  for (let index = segments.length - 2; index >= 0; index--) {
    const folder = parseOne(segments[index] ?? '');
    if (folder.year === null) continue;
    return {
      title: folder.title,
      year: folder.year,
      resolution: file.resolution ?? folder.resolution,
      source: file.source ?? folder.source,
      codec: file.codec ?? folder.codec,
      edition: file.edition.length > 0 ? file.edition : folder.edition,
      group: file.group ?? folder.group,
    };
  }
  return file;
}
