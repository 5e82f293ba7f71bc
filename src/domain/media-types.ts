/**
 * The video files a movie torrent holds, by extension, with the media type each is served as.
 * One list for both questions: which file is the movie (service/job-files.ts) and what a player
 * is told it gets (api/routes/stream.ts).
 */
export const VIDEO_MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.mkv': 'video/x-matroska',
  '.mk3d': 'video/x-matroska',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.webm': 'video/webm',
  '.avi': 'video/x-msvideo',
  '.mov': 'video/quicktime',
  '.wmv': 'video/x-ms-wmv',
  '.mpg': 'video/mpeg',
  '.mpeg': 'video/mpeg',
  '.ts': 'video/mp2t',
  '.m2ts': 'video/mp2t',
  '.flv': 'video/x-flv',
  '.ogv': 'video/ogg',
  '.3gp': 'video/3gpp',
};

/** Whether `extension` (lower case, with its dot: `.mkv`) is a video file's. */
export function isVideoExtension(extension: string): boolean {
  return Object.hasOwn(VIDEO_MEDIA_TYPES, extension);
}
