/**
 * The name a direct download is saved under, inside its job's folder: the server's suggestion
 * (`Content-Disposition`) or the URL's last path segment, reduced to its last component and made
 * safe on every file system by the same policy as torrent files (`sanitizeComponent`).
 */
import path from 'node:path';
import { isVideoExtension, VIDEO_MEDIA_TYPES } from '../../domain/media-types.js';
import { sanitizeComponent } from '../../torrent/file-layout.js';
import { filenameFromContentDisposition } from './content-disposition.js';

/** When neither the server nor the URL names the file. */
const FALLBACK_NAME = 'download';

/** The first extension listed for each video media type (`video/mp4` → `.mp4`). */
const EXTENSION_OF_TYPE: ReadonlyMap<string, string> = new Map(
  Object.entries(VIDEO_MEDIA_TYPES)
    .reverse()
    .map(([extension, type]) => [type, extension]),
);

export interface FileNameSources {
  contentDisposition?: string | null | undefined;
  contentType?: string | null | undefined;
  /** The URLs asked, most telling first (e.g. the final one after redirects, then the one given). */
  urls: readonly URL[];
}

/**
 * A single path component, never empty, never hidden (a leading dot becomes `_.`), and never the
 * name of our own state file (which starts with a dot). A video file keeps its extension; a name
 * without one gets the extension another candidate or the media type implies.
 */
export function chooseFileName(sources: FileNameSources): string {
  const candidates = [filenameFromContentDisposition(sources.contentDisposition), ...sources.urls.map(lastPathSegment)]
    .map((raw) => (raw === undefined ? undefined : lastComponent(raw)))
    .filter((name): name is string => name !== undefined);
  const video = candidates.find((name) => isVideoExtension(extensionOf(name)));
  let name = safeName(video ?? candidates[0] ?? FALLBACK_NAME);
  if (!isVideoExtension(extensionOf(name))) {
    const implied = candidates.map(extensionOf).find(isVideoExtension) ?? extensionOfType(sources.contentType);
    if (implied !== undefined) name = safeName(`${name}${implied}`);
  }
  return name;
}

/** The URL's last non-empty path segment, percent-decoded (as sent when it is not valid UTF-8). */
export function lastPathSegment(url: URL): string | undefined {
  const segment = url.pathname.split('/').findLast((part) => part !== '');
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** What follows the last `/` or `\` that is not `.` or `..` (a path a server sends is never followed). */
function lastComponent(raw: string): string | undefined {
  return raw.split(/[/\\]/).findLast((part) => part.trim() !== '' && part !== '.' && part !== '..');
}

function safeName(raw: string): string {
  const name = sanitizeComponent(raw);
  return name.startsWith('.') ? sanitizeComponent(`_${name}`) : name;
}

function extensionOf(name: string): string {
  return path.extname(name).toLowerCase();
}

function extensionOfType(contentType: string | null | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === undefined ? undefined : EXTENSION_OF_TYPE.get(type);
}
