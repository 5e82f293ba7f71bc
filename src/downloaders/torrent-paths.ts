import { ChillyError } from '../domain/errors.js';

/**
 * Refuses torrents whose metadata names a file outside the job's folder.
 *
 * parse-torrent quietly normalises `..` away on POSIX, but Windows forms (`C:\…`, `\\server\…`,
 * backslash separators) pass through, and WebTorrent does not check (webtorrent #3012). A torrent
 * that tries any of this is hostile or broken, so it is refused outright instead of repaired.
 * Everything else in a name (reserved names, forbidden characters, length) is made safe by the
 * file layout (src/torrent/file-layout.ts), which never lets a path leave the job's folder either.
 */
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  return undefined;
}

/** Why one path component is unsafe, or undefined when it is fine. */
export function unsafeComponentReason(component: string): string | undefined {
  if (component.length === 0) return 'an empty path component';
  if (component === '.' || component === '..') return `a '${component}' component`;
  if (component.includes('\0')) return 'a NUL byte';
  if (component.includes('/') || component.includes('\\')) return 'a path separator inside a component';
  // `C:` alone or `C:\…`; a title such as "M:I-2" is only sanitised (its ':' becomes '_').
  if (/^[A-Za-z]:(?:[\\/]|$)/.test(component)) return 'a Windows drive prefix';
  return undefined;
}

/** The raw path components of every file, as the info dictionary gives them (name first). */
export function rawTorrentPaths(info: Record<string, unknown>): string[][] {
  const name = asText(info['name.utf-8']) ?? asText(info.name);
  if (name === undefined) throw new ChillyError('invalid_torrent', 'The torrent has no name.');
  const files = info.files;
  if (!Array.isArray(files)) return [[name]];
  return files.map((file: unknown) => {
    const record = (file ?? {}) as Record<string, unknown>;
    const parts = record['path.utf-8'] ?? record.path;
    if (!Array.isArray(parts)) throw new ChillyError('invalid_torrent', 'A file in the torrent has no path.');
    return [name, ...parts.map((part: unknown) => asText(part) ?? '')];
  });
}

/** Throws `unsafe_path` if any file of the torrent names a path that would leave the job's folder. */
export function assertSafeTorrentPaths(info: Record<string, unknown>): void {
  for (const parts of rawTorrentPaths(info)) {
    const shown = parts.join('/');
    for (const part of parts) {
      const reason = unsafeComponentReason(part);
      if (reason !== undefined) {
        throw new ChillyError('unsafe_path', `Refused torrent: file path ${JSON.stringify(shown)} contains ${reason}.`);
      }
    }
  }
}
