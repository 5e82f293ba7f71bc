/**
 * Watch while it downloads: a `<video>` on the job's signed stream link (GET
 * /download/stream-url/{id}); the server fetches the pieces under the playhead first, so seeking
 * works before the download ends. Under the video: what the browser holds (its `buffered` ranges)
 * and how much of the film is downloaded.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, type StreamLink, streamUrl, unwrap } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { JobProgress } from '../components/job-progress.js';
import { ScreenTitle } from '../components/screen-title.js';
import { canResume, formatClock, statusLabel } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { href } from '../router.js';
import { subtitleTracks } from '../subtitles.js';
import { useJob } from './job.js';

type Range = readonly [start: number, end: number];

export function PlayerScreen({ id }: { id: string }) {
  const { job, error: jobError } = useJob(id);
  const [link, setLink] = useState<StreamLink>();
  const [linkError, setLinkError] = useState<string>();
  const [playError, setPlayError] = useState<string>();
  const [timeline, setTimeline] = useState<{ duration: number; current: number; buffered: Range[] }>({
    duration: 0,
    current: 0,
    buffered: [],
  });
  const video = useRef<HTMLVideoElement>(null);

  const [attempt, setAttempt] = useState(0);

  const load = useCallback(async () => {
    setLinkError(undefined);
    setPlayError(undefined);
    try {
      setLink(await streamUrl(id));
      setAttempt((count) => count + 1);
    } catch (failure) {
      setLinkError(describeError(failure));
    }
  }, [id]);

  useEffect(() => {
    void load();
  }, [load]);

  // Trying again may give the same link (the same expiry second): the element must load it anew.
  useEffect(() => {
    if (attempt > 1) video.current?.load();
  }, [attempt]);

  // Leaving the screen ends the stream's connection now, not when the element is collected.
  useEffect(() => {
    const element = video.current;
    return () => {
      element?.removeAttribute('src');
      element?.load();
    };
  }, []);

  const measure = useCallback(() => {
    const element = video.current;
    if (element === null) return;
    const buffered: Range[] = [];
    for (let index = 0; index < element.buffered.length; index += 1) {
      buffered.push([element.buffered.start(index), element.buffered.end(index)]);
    }
    const duration = Number.isFinite(element.duration) ? element.duration : 0;
    setTimeline({ duration, current: element.currentTime, buffered });
  }, []);

  /** The video element says little about a failed load: ask the link itself what the server said. */
  const explainFailure = useCallback(async () => {
    const element = video.current;
    if (element?.error === null || element?.error === undefined || link === undefined) return;
    try {
      const response = await fetch(link.src, { headers: { Range: 'bytes=0-0' }, credentials: 'same-origin' });
      if (response.ok) {
        await response.body?.cancel();
        setPlayError(
          'This browser cannot play this file (its format or codec). Open the stream link below in mpv or VLC.',
        );
        return;
      }
      const body: unknown = await response.json().catch(() => undefined);
      const failure = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      setPlayError(
        failure?.code === undefined
          ? `The stream answered HTTP ${response.status}.`
          : `${failure.code}: ${failure.message}`,
      );
    } catch (failure) {
      setPlayError(describeError(failure));
    }
  }, [link]);

  const name = job === undefined ? id : jobName(job);
  const tracks = subtitleTracks(link, link?.fileIndex ?? null);
  return (
    <>
      <nav aria-label="Breadcrumb" class="breadcrumb">
        <a href={href({ screen: 'job', id })}>← {name}</a>
      </nav>
      <ScreenTitle>Watch {name}</ScreenTitle>
      <ErrorMessage message={jobError ?? linkError} />
      <div class="player">
        {/* biome-ignore lint/a11y/useMediaCaption: the API offers no subtitles yet; they come from subtitleTracks (src/subtitles.ts), never a fake track. */}
        <video
          ref={video}
          controls
          preload="metadata"
          playsInline
          src={link?.src}
          onLoadedMetadata={measure}
          onDurationChange={measure}
          onProgress={measure}
          onTimeUpdate={measure}
          onSeeked={measure}
          onPlaying={() => setPlayError(undefined)}
          onError={() => void explainFailure()}
        >
          {tracks.map((track) => (
            <track key={track.src} kind={track.kind} src={track.src} label={track.label} srcLang={track.srclang} />
          ))}
          Your browser cannot play videos here: open the stream link below in a video player.
        </video>
        <BufferBar duration={timeline.duration} current={timeline.current} buffered={timeline.buffered} />
      </div>
      <p class="hint" aria-hidden="true">
        The bar under the video: in blue, what the browser holds and can play at once; in white, where it is playing.
      </p>
      {playError !== undefined && (
        <div class="play-error">
          <ErrorMessage message={playError} />
          <div class="buttons">
            {job !== undefined && canResume(job.status) && <ResumeButton job={job} onResumed={load} />}
            <button type="button" class="secondary" onClick={() => void load()}>
              Try again
            </button>
          </div>
        </div>
      )}
      {job !== undefined && (
        <section aria-labelledby="download-heading" class="player-download">
          <h2 id="download-heading">Download: {statusLabel(job.status)}</h2>
          <JobProgress job={job} />
        </section>
      )}
      {link !== undefined && (
        <p class="muted stream-link">
          <a href={link.url}>Stream link</a> for another player (mpv, VLC), valid until{' '}
          {new Date(link.expiresAt).toLocaleString()}. Anyone with it can watch this film until then.
        </p>
      )}
    </>
  );
}

function ResumeButton({ job, onResumed }: { job: Job; onResumed: () => void }) {
  const [error, setError] = useState<string>();
  return (
    <>
      <button
        type="button"
        onClick={async () => {
          try {
            jobsStore.upsert(unwrap(await client.POST('/download/resume', { body: { id: job.id } })));
            onResumed();
          } catch (failure) {
            setError(describeError(failure));
          }
        }}
      >
        Resume the download
      </button>
      <ErrorMessage message={error} />
    </>
  );
}

/** The browser's buffered ranges and the playhead over the film's length, drawn without inline styles (CSP). */
function BufferBar({ duration, current, buffered }: { duration: number; current: number; buffered: Range[] }) {
  const width = 1000;
  const scale = (seconds: number) => (duration > 0 ? (Math.min(seconds, duration) / duration) * width : 0);
  const held = buffered.map(([start, end]) => `${formatClock(start)}–${formatClock(end)}`).join(', ');
  const label =
    duration > 0
      ? `Ready to play: ${held === '' ? 'nothing yet' : held} of ${formatClock(duration)}; playing at ${formatClock(current)}`
      : 'Ready to play: not known until the video starts loading';
  return (
    <svg class="buffer-bar" viewBox={`0 0 ${width} 12`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      <rect class="buffer-track" x={0} y={0} width={width} height={12} />
      {buffered.map(([start, end]) => (
        <rect
          key={start}
          class="buffer-range"
          x={scale(start)}
          y={0}
          width={Math.max(1, scale(end) - scale(start))}
          height={12}
        />
      ))}
      {duration > 0 && <rect class="buffer-playhead" x={Math.max(0, scale(current) - 2)} y={0} width={4} height={12} />}
    </svg>
  );
}
