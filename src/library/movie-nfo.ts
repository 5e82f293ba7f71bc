/**
 * The `movie.nfo` file placed beside a film in the library folder (issue 18): the XML that Kodi
 * and Jellyfin (and Emby) read to identify a film without guessing from its name, so a film
 * Chilly already matched on TMDB is shown as that film, not as whatever the scanner finds.
 *
 * Format: https://kodi.wiki/view/NFO_files/Movies (Jellyfin reads the same file:
 * https://jellyfin.org/docs/general/server/metadata/nfo/). `<uniqueid type="tmdb" default="true">`
 * is what Kodi 18+ uses; `<tmdbid>`/`<imdbid>` are what Jellyfin also looks for.
 *
 * Titles and plots come from TMDB or from release names: everything is XML-escaped, and the
 * characters XML 1.0 does not allow at all (control characters, lone surrogates, U+FFFE/U+FFFF)
 * are removed, so the file is always well-formed.
 */

export interface MovieNfoInput {
  title: string;
  year?: number | null;
  tmdbId?: number | null;
  imdbId?: string | null;
  plot?: string | null;
  runtimeMinutes?: number | null;
  genres?: readonly string[] | null;
}

/** Anything outside XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** `text` without the characters XML 1.0 forbids. */
export function xmlCharacters(text: string): string {
  return String(text).replace(NOT_XML_CHAR, '');
}

/** `text` safe as XML character data or an attribute value (forbidden characters removed). */
export function escapeXml(text: string): string {
  return xmlCharacters(text)
    .replace(/\r\n?/g, '\n')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function positiveInteger(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.round(value) : null;
}

function text(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = xmlCharacters(value).trim();
  return cleaned === '' ? null : cleaned;
}

/** The `movie.nfo` XML for a film (UTF-8, ends with a newline). */
export function movieNfo(input: MovieNfoInput): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', '<movie>'];
  const element = (name: string, value: string, attributes = ''): void => {
    lines.push(`  <${name}${attributes}>${escapeXml(value)}</${name}>`);
  };
  const title = text(input.title) ?? 'Untitled';
  element('title', title);
  element('originaltitle', title);
  const year = Number.isInteger(input.year) && (input.year ?? 0) > 0 ? (input.year as number) : null;
  if (year !== null) element('year', String(year));
  const plot = text(input.plot);
  if (plot !== null) element('plot', plot);
  const runtime = positiveInteger(input.runtimeMinutes);
  if (runtime !== null) element('runtime', String(runtime));
  for (const genre of input.genres ?? []) {
    const name = text(genre);
    if (name !== null) element('genre', name);
  }
  const tmdbId = Number.isSafeInteger(input.tmdbId) && (input.tmdbId ?? 0) > 0 ? (input.tmdbId as number) : null;
  const imdbId = text(input.imdbId);
  if (tmdbId !== null) element('uniqueid', String(tmdbId), ' type="tmdb" default="true"');
  if (imdbId !== null) element('uniqueid', imdbId, tmdbId === null ? ' type="imdb" default="true"' : ' type="imdb"');
  if (tmdbId !== null) element('tmdbid', String(tmdbId));
  if (imdbId !== null) element('imdbid', imdbId);
  lines.push('</movie>', '');
  return lines.join('\n');
}
