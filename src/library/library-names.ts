/**
 * Names for the library folder (issue 18): a film's title turned into a folder and file name that
 * is valid on Windows, macOS and Linux and that Plex, Jellyfin and Kodi recognise, e.g.
 * `Night of the Living Dead (1968)/Night of the Living Dead (1968).mkv`.
 *
 * Why this exists: titles come from TMDB or from release names, and they hold whatever a film is
 * called ("AC/DC: Live", "What?", "Se7en", "..."), while the library may sit on a NAS share or an
 * exFAT disk that a Windows or macOS machine also reads. A name that one of them refuses, or that
 * a media server cannot parse, is a film the user never sees in their media server.
 *
 * The conventions followed (the media servers' own naming guides):
 * - Plex: https://support.plex.tv/articles/naming-and-organizing-your-movie-media-files/
 *   `Title (Year)/Title (Year).ext`; several versions of one film in one folder as
 *   `Title (Year) - 1080p.ext`; `{tmdb-123}` / `[tmdbid-123]`-style id tags are optional hints.
 * - Jellyfin: https://jellyfin.org/docs/general/server/media/movies/
 *   the same `Title (Year)` folder; `[tmdbid-123]` in the folder name pins the match; multiple
 *   versions share the folder and each file starts with the folder's name, then ` - <label>`.
 * - Kodi: https://kodi.wiki/view/Naming_video_files/Movies and
 *   https://kodi.wiki/view/NFO_files/Movies (the `movie.nfo` beside the film, see movie-nfo.ts).
 *
 * Pure string functions: no file system access here.
 */

/** The longest title kept, in UTF-8 bytes: leaves room under the 255-byte name limit of common file systems. */
export const MAX_TITLE_BYTES = 150;
/** The longest quality label or disambiguator kept, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 24;
/** What an empty (or entirely unusable) title becomes. */
export const UNTITLED = 'Untitled';

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** Invisible characters that reorder or hide text (spoofing), byte-order marks and noncharacters. */
const INVISIBLE = /[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff]/g;
/** UTF-16 halves without their other half: not text, and not encodable in UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Windows device names, refused as a file's stem whatever the case or extension ("con.txt"). */
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;

const encoder = new TextEncoder();
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/**
 * The longest start of `text` that fits in `maxBytes` UTF-8 bytes, cut between user-perceived
 * characters (an emoji with its modifiers, a letter with its accents) when possible, never
 * inside a code point.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let kept = '';
  let bytes = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = utf8Length(segment);
    if (bytes + size > maxBytes) break;
    kept += segment;
    bytes += size;
  }
  if (kept !== '') return kept;
  // A single "character" longer than the limit (a letter with hundreds of accents): by code point.
  for (const codePoint of text) {
    const size = utf8Length(codePoint);
    if (bytes + size > maxBytes) break;
    kept += codePoint;
    bytes += size;
  }
  return kept;
}

/** Whether Windows refuses `name` as a file name (a device name, with or without an extension). */
export function isWindowsReservedName(name: string): boolean {
  const stem = (name.split('.')[0] ?? '').replace(/ +$/, '');
  return WINDOWS_RESERVED.test(stem);
}

/** The characters no common file system (or Windows' API) accepts, replaced by readable ones. */
function replaceForbidden(text: string): string {
  return text
    .replace(/\s*:\s+/g, ' - ') // "AC/DC: Live" → "AC-DC - Live"
    .replace(/:/g, '-') // "10:30" → "10-30"
    .replace(/[/\\|]/g, '-')
    .replace(/\*/g, '-') // "M*A*S*H" → "M-A-S-H"
    .replace(/"/g, "'")
    .replace(/[<>?]/g, '');
}

function cleanName(text: string, maxBytes: number, fallback: string): string {
  let name = String(text).replace(LONE_SURROGATE, '').normalize('NFC').replace(CONTROL, ' ').replace(INVISIBLE, '');
  name = replaceForbidden(name).replace(/\s+/g, ' ');
  // A few rounds: each step can undo another's work (a cut can end on a dot, "CON" grows by one).
  for (let round = 0; round < 4; round++) {
    const before = name;
    // Leading dots hide a file on macOS and Linux; trailing dots and spaces are dropped by Windows.
    name = name.replace(/^[\s.]+|[\s.]+$/g, '');
    if (isWindowsReservedName(name)) {
      const dot = name.indexOf('.');
      name = dot === -1 ? `${name}_` : `${name.slice(0, dot).trimEnd()}_${name.slice(dot)}`;
    }
    name = truncateUtf8(name, maxBytes).normalize('NFC');
    if (name === before) break;
  }
  if (name === '' || name === '.' || name === '..') return fallback;
  return name;
}

/**
 * A film title as a file or folder name valid on Windows, macOS and Linux: `<>:"/\|?*` and control
 * characters replaced or removed, no leading or trailing dots and spaces, never a Windows device
 * name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, in any case, with or without an extension), NFC
 * normalised, at most {@link MAX_TITLE_BYTES} UTF-8 bytes (cut between characters), never empty
 * (`Untitled`), never `.` or `..`.
 */
export function safeTitle(title: string): string {
  return cleanName(title, MAX_TITLE_BYTES, UNTITLED);
}

/** A short label (a quality such as `1080p`, a disambiguator) made safe the same way; '' when nothing is left. */
export function safeLabel(label: string, maxBytes = MAX_LABEL_BYTES): string {
  return cleanName(label, maxBytes, '');
}

/** A year worth putting in a name: four digits. */
export function validYear(year: number | null | undefined): number | null {
  return typeof year === 'number' && Number.isInteger(year) && year >= 1000 && year <= 9999 ? year : null;
}

/** The disambiguator for a film that shares its title and year with another: Jellyfin's id tag. */
export function tmdbDisambiguator(tmdbId: number): string {
  return `[tmdbid-${tmdbId}]`;
}

/** The disambiguator for the n-th film of that title and year when it has no TMDB id: `(2)`. */
export function copyDisambiguator(n: number): string {
  return `(${n})`;
}

export interface MovieFolderNameInput {
  title: string;
  year?: number | null;
  /** A version label such as `1080p`: appended as ` - 1080p` (Plex/Jellyfin multiple versions). */
  qualitySuffix?: string | null;
  /** Keeps two films of the same title and year apart: `[tmdbid-123]` or `(2)`. */
  disambiguator?: string | null;
}

/**
 * `Title (Year)`, or `Title` without a year, then ` [tmdbid-123]` / ` (2)` when a disambiguator is
 * given, then ` - 1080p` when a quality suffix is given: the folder name, and the stem of the
 * film's file inside it (a file must start with its folder's name for Jellyfin's versions).
 */
export function movieFolderName(input: MovieFolderNameInput): string {
  let name = safeTitle(input.title);
  const year = validYear(input.year);
  if (year !== null) name += ` (${year})`;
  const disambiguator = safeLabel(input.disambiguator ?? '');
  if (disambiguator !== '') name += ` ${disambiguator}`;
  const quality = safeLabel(input.qualitySuffix ?? '');
  if (quality !== '') name += ` - ${quality}`;
  return name;
}
