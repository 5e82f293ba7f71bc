/**
 * Job ids people can type, made from a torrent's name when the caller gives none (the API, the
 * CLI): "Big Buck Bunny (2008) [1080p]" becomes "big-buck-bunny-2008-1080p"; without a usable
 * name, the info-hash's first 12 characters.
 */
export interface NamedSource {
  name?: string | undefined;
  infoHash: string;
}

export function jobIdFromName(source: NamedSource): string {
  const slug = (source.name ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\.(mkv|mp4|avi|m4v|webm|mov|torrent)$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug.length >= 2 ? slug : source.infoHash.slice(0, 12);
}

/** The fallback when the name-based id is taken by another torrent: the name plus a piece of the hash. */
export function disambiguatedJobId(source: NamedSource): string {
  const base = jobIdFromName(source);
  const suffix = source.infoHash.slice(0, 8);
  return base.startsWith(source.infoHash.slice(0, 12)) ? source.infoHash : `${base}-${suffix}`;
}
