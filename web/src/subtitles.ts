/**
 * Subtitle tracks for the player: the hook where they will come from.
 *
 * The API offers no subtitles a `<track>` can read yet: `<track>` needs WebVTT, and the stream
 * routes serve a torrent's `.srt` files as they are (`application/x-subrip`). Once the server
 * converts them (a route such as `/stream/{id}/files/{index}/subtitles.vtt`, signed like the video
 * link), map them here and the player shows them; until then there are none, rather than a fake.
 */
import type { Job } from './api.js';

export interface SubtitleTrack {
  /** Same-origin URL of a WebVTT file. */
  src: string;
  /** What the menu shows: "English", "Français (SDH)". */
  label: string;
  /** BCP 47 language tag of the text. */
  srclang: string;
  kind: 'subtitles' | 'captions';
}

export function subtitleTracks(_job: Job | undefined): SubtitleTrack[] {
  return [];
}
