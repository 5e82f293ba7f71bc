/**
 * What a torrent's name says about the film, read as release names are written
 * (`Night.of.the.Living.Dead.1968.720p.BluRay.x264-GRP`): the title and year to search for, and
 * the copy's resolution and source. Shown when the server has no movie for the download (TMDB not
 * configured, or nothing found), and used to pre-fill the search.
 */
export interface ParsedRelease {
  title: string;
  year: number | undefined;
  resolution: string | undefined;
  source: string | undefined;
}

const RESOLUTION = /\b(2160p|1080p|720p|576p|480p|4k)\b/i;
const SOURCE = /\b(blu-?ray|bdrip|brrip|web-?dl|webrip|hdtv|dvdrip|remux)\b/i;
const CODEC = /\b(x26[45]|h\.?26[45]|hevc|xvid|aac|dts)\b/i;
const YEAR = /(?:^|[\s([])((?:19|20)\d{2})(?=$|[\s)\]])/g;

export function parseReleaseName(name: string): ParsedRelease {
  const withoutExtension = name.replace(/\.(mkv|mp4|avi|m4v|mov|webm|wmv|ts)$/i, '');
  const spaced = withoutExtension.replace(/[._]+/g, ' ').replace(/\s+/g, ' ').trim();
  // The last year-like number ends the title ("2001 A Space Odyssey 1968" is 1968).
  let year: number | undefined;
  let titleEnd = spaced.length;
  for (const match of spaced.matchAll(YEAR)) {
    if (match.index === undefined || match[1] === undefined) continue;
    const start = match.index + match[0].indexOf(match[1]);
    if (start === 0) continue;
    year = Number(match[1]);
    titleEnd = start;
  }
  const resolution = RESOLUTION.exec(spaced);
  const source = SOURCE.exec(spaced);
  if (year === undefined) {
    // Without a year, the title ends where the technical words begin.
    const codec = spaced.search(CODEC);
    titleEnd = Math.min(
      resolution?.index ?? spaced.length,
      source?.index ?? spaced.length,
      codec < 0 ? spaced.length : codec,
    );
  }
  const title = spaced
    .slice(0, titleEnd)
    .replace(/[\s([-]+$/, '')
    .trim();
  return {
    title: title === '' ? spaced : title,
    year,
    resolution: resolution?.[1]?.toLowerCase(),
    source: source?.[1],
  };
}
