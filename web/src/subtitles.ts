/**
 * Subtitle tracks for the player: the job's subtitles, which the server serves as WebVTT in UTF-8
 * (`/stream/{id}/subtitles/{n}`, signed like the video link), for the `<track>` elements.
 */
import type { StreamLink } from './api.js';

export interface SubtitleTrack {
  /** Same-origin URL of a WebVTT file. */
  src: string;
  /** What the menu shows: "English", "French (SDH)". */
  label: string;
  /** BCP 47 language tag of the text (empty when unknown). */
  srclang: string;
  kind: 'subtitles' | 'captions';
}

/** The tracks of the video the link plays (subtitles of other videos of the torrent are left out). */
export function subtitleTracks(link: StreamLink | undefined, fileIndex: number | null): SubtitleTrack[] {
  if (link === undefined) return [];
  return link.subtitles
    .filter((subtitle) => subtitle.videoIndex === null || fileIndex === null || subtitle.videoIndex === fileIndex)
    .map((subtitle) => ({
      src: subtitle.src,
      label: subtitle.label,
      srclang: subtitle.language ?? '',
      kind: subtitle.sdh ? 'captions' : 'subtitles',
    }));
}
