/**
 * Where each file of a torrent goes on disk, inside its job's folder: one policy for every file the
 * product writes, reads, serves or deletes. The names in a torrent are untrusted text; on disk
 * they must be valid on Linux, macOS and Windows file systems alike:
 *
 * - decoded as UTF-8 (`path.utf-8` preferred; invalid bytes become U+FFFD) and NFC-normalised;
 * - control characters, bidirectional overrides and `< > : " / \ | ? *` become `_`;
 * - trailing dots and spaces are dropped (Windows drops them silently, and two names would meet);
 * - reserved device names (`CON`, `nul.txt`, `COM1`, …) get a leading `_`;
 * - a component is at most 255 bytes of UTF-8 (NAME_MAX), a path at most 1,024, shortened on a
 *   character boundary and keeping the extension;
 * - names that meet (after all this, and ignoring case, as macOS and Windows do) or a file that
 *   is also a folder (`x` and `x/y`) are told apart deterministically, in torrent order, with
 *   ` (2)`, ` (3)`… — nothing is ever written twice into one file.
 *
 * Traversal (`..`, `.`, separators inside a component, absolute and drive forms) is not repaired
 * but refused (see torrent-paths.ts): a torrent that tries it is hostile.
 */
import { type InfoDictionary, isDictionary } from './info-dictionary.js';

/** One file of a torrent: its name in the torrent, and where it lives inside the job's folder. */
export interface LayoutFile {
  /** Path as the torrent names it, '/'-separated (name first), for display. */
  torrentPath: string;
  /** Path inside the job's folder, '/'-separated, safe on every file system. */
  diskPath: string;
  length: number;
  /** Byte offset of the file in the torrent's data. */
  offset: number;
}

export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_BYTES = 1024;
/** Extensions longer than this are not kept when a name is shortened. */
const MAX_EXTENSION_BYTES = 32;

const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  return '';
}

function byteLength(value: string): number {
  return encoder.encode(value).byteLength;
}

// C0 and C1 controls, DEL, bidirectional embeddings/overrides/isolates (a name could show
// "film.mkv" while being "film\u202Evkm.exe"), and what Windows forbids in a name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069<>:"/\\|?*]/gu;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\s*\.|\s*$)/iu;

/** The longest prefix of `value` that fits in `maxBytes` of UTF-8, never splitting a character. */
function truncateBytes(value: string, maxBytes: number): string {
  if (byteLength(value) <= maxBytes) return value;
  let out = '';
  let used = 0;
  for (const char of value) {
    const size = byteLength(char);
    if (used + size > maxBytes) break;
    out += char;
    used += size;
  }
  return out;
}

function dropTrailingDotsAndSpaces(value: string): string {
  return value.replace(/[. ]+$/u, '');
}

/** Shortens a name to `maxBytes`, keeping a short extension. */
function shorten(name: string, maxBytes: number): string {
  if (byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  const keep = byteLength(extension) <= MAX_EXTENSION_BYTES ? extension : '';
  const stem = keep === '' ? name : name.slice(0, dot);
  return dropTrailingDotsAndSpaces(truncateBytes(stem, maxBytes - byteLength(keep))) + keep;
}

/** One path component from a torrent, made safe for every file system (never empty). */
export function sanitizeComponent(raw: unknown, maxBytes = MAX_COMPONENT_BYTES): string {
  let name = text(raw).normalize('NFC').replace(FORBIDDEN, '_');
  name = dropTrailingDotsAndSpaces(name);
  if (RESERVED.test(name)) name = `_${name}`;
  name = dropTrailingDotsAndSpaces(shorten(name, maxBytes));
  return name === '' ? '_' : name;
}

/** `name (2).ext` for a file, `name (2)` for a folder, within the byte limit. */
function numbered(name: string, n: number, isFile: boolean): string {
  const suffix = ` (${n})`;
  const dot = isFile ? name.lastIndexOf('.') : -1;
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const extension = dot > 0 ? name.slice(dot) : '';
  const room = MAX_COMPONENT_BYTES - byteLength(suffix) - byteLength(extension);
  return `${truncateBytes(stem, Math.max(1, room))}${suffix}${extension}`;
}

/** How names meet on case-insensitive file systems (macOS, Windows). */
function collisionKey(diskPath: string): string {
  return diskPath.normalize('NFC').toLowerCase();
}

/** The raw components (name first) of every file of an info dictionary, as bytes or strings. */
export function rawFilePaths(info: InfoDictionary): Array<{ parts: unknown[]; length: number }> {
  const name = info['name.utf-8'] ?? info.name;
  const files = info.files;
  if (!Array.isArray(files)) return [{ parts: [name], length: Number(info.length) }];
  return files.map((file: unknown) => {
    const record = isDictionary(file) ? file : {};
    const parts = record['path.utf-8'] ?? record.path;
    return { parts: [name, ...(Array.isArray(parts) ? parts : [])], length: Number(record.length) };
  });
}

/**
 * The disk layout of a checked info dictionary (see info-dictionary.ts), in torrent order.
 * Pure and deterministic: the same torrent always gets the same layout.
 */
export function planFileLayout(info: InfoDictionary): LayoutFile[] {
  /** Disk paths taken, by collision key: 'file' or 'dir'. */
  const taken = new Map<string, 'file' | 'dir'>();
  /** Torrent folder path → the disk folder it was given, so siblings stay together. */
  const folders = new Map<string, string>();
  let offset = 0;

  const under = (parent: string, name: string): string => (parent === '' ? name : `${parent}/${name}`);

  const claimFolder = (torrentFolder: string, parentDisk: string, raw: unknown): string => {
    const known = folders.get(torrentFolder);
    if (known !== undefined) return known;
    const base = sanitizeComponent(raw);
    let candidate = under(parentDisk, base);
    for (let n = 2; taken.get(collisionKey(candidate)) === 'file'; n++) {
      candidate = under(parentDisk, numbered(base, n, false));
    }
    // Two torrent folders whose names meet share one disk folder: their files are told apart below.
    taken.set(collisionKey(candidate), 'dir');
    folders.set(torrentFolder, candidate);
    return candidate;
  };

  return rawFilePaths(info).map(({ parts, length }) => {
    const torrentParts = parts.map(text);
    let parent = '';
    for (let depth = 0; depth < parts.length - 1; depth++) {
      parent = claimFolder(torrentParts.slice(0, depth + 1).join('/'), parent, parts[depth]);
    }
    let base = sanitizeComponent(parts.at(-1));
    if (byteLength(under(parent, base)) > MAX_PATH_BYTES) {
      // Too deep for some file systems (macOS allows 1,024 bytes in all): the file goes into the
      // torrent's top folder, its folders written into its name.
      parent = parts.length > 1 ? (folders.get(torrentParts[0] ?? '') ?? '') : '';
      base = shorten(
        parts
          .slice(1)
          .map((part) => sanitizeComponent(part))
          .join(' - '),
        MAX_COMPONENT_BYTES,
      );
    }
    let diskPath = under(parent, base);
    for (let n = 2; taken.has(collisionKey(diskPath)); n++) diskPath = under(parent, numbered(base, n, true));
    taken.set(collisionKey(diskPath), 'file');
    const file: LayoutFile = { torrentPath: torrentParts.join('/'), diskPath, length, offset };
    offset += length;
    return file;
  });
}
