/** The global speed limits, in KiB/s (GET and PUT /settings/limits): at once, kept across restarts. */
import { useEffect, useState } from 'preact/hooks';
import { client, describeError, type Engine, type RateLimits, unwrap } from '../api.js';
import { cannot } from '../engine.js';
import { formatLimit } from '../format.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

const KiB = 1024;
/** The contract's largest limit, 10 240 000 000 bytes/s, in KiB/s. */
const MAX_KIB = 10_000_000;

type Direction = 'downloadBytesPerSecond' | 'uploadBytesPerSecond';

const FIELDS: ReadonlyArray<{ key: Direction; id: string; label: string }> = [
  { key: 'downloadBytesPerSecond', id: 'limit-download', label: 'Download limit (KiB/s)' },
  { key: 'uploadBytesPerSecond', id: 'limit-upload', label: 'Upload limit (KiB/s)' },
];

/** KiB/s as typed → bytes/s, or the reason it is not a limit. */
function parseKiB(text: string, label: string): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return `${label}: give a whole number of KiB/s (0 for no limit).`;
  const value = Number(trimmed);
  if (value > MAX_KIB) return `${label}: at most ${MAX_KIB.toLocaleString()} KiB/s.`;
  return value * KiB;
}

export function SpeedLimitsForm({ engine }: { engine: Engine }) {
  const why = cannot(engine, 'rateLimits');
  const [limits, setLimits] = useState<RateLimits>();
  const [edited, setEdited] = useState<Partial<Record<Direction, string>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();

  useEffect(() => {
    if (why !== undefined) return;
    client.GET('/settings/limits').then(
      (result) => {
        try {
          setLimits(unwrap(result));
        } catch (failure) {
          setError(describeError(failure));
        }
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [why]);

  if (why !== undefined) return <p class="muted">{why}</p>;
  if (limits === undefined)
    return error === undefined ? <p class="muted">Loading the limits…</p> : <ErrorMessage message={error} />;
  const current = limits;
  const text = (key: Direction) => edited[key] ?? String(Math.round(current[key] / KiB));

  async function save(event: Event) {
    event.preventDefault();
    if (busy) return;
    const body: RateLimits = { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 };
    for (const { key, id, label } of FIELDS) {
      const parsed = parseKiB(text(key), label.replace(/ \(KiB\/s\)$/, ''));
      if (typeof parsed === 'string') {
        setError(parsed);
        document.getElementById(id)?.focus();
        return;
      }
      body[key] = parsed;
    }
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const answer = unwrap(await client.PUT('/settings/limits', { body }));
      setLimits(answer);
      setEdited({});
      const words = `downloads ${formatLimit(answer.downloadBytesPerSecond)}, uploads ${formatLimit(answer.uploadBytesPerSecond)}`;
      setSaved(`Saved: ${words}.`);
      announce(`Speed limits saved: ${words}`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={save}>
      <p>
        Now: downloads {formatLimit(current.downloadBytesPerSecond)}, uploads{' '}
        {formatLimit(current.uploadBytesPerSecond)} (all downloads together, all uploads together).
      </p>
      {FIELDS.map(({ key, id, label }) => (
        <div class="field" key={key}>
          <label for={id}>{label}</label>
          <input
            type="number"
            id={id}
            inputMode="numeric"
            min={0}
            max={MAX_KIB}
            step={1}
            value={text(key)}
            aria-describedby="limits-hint"
            onInput={(event) => {
              const value = event.currentTarget.value;
              setEdited((before) => ({ ...before, [key]: value }));
              setSaved(undefined);
              setError(undefined);
            }}
          />
        </div>
      ))}
      <p class="hint" id="limits-hint">
        0 means no limit. A change applies at once, with no restart, and is kept when the server restarts.
      </p>
      <ErrorMessage message={error} />
      <div class="buttons">
        <button type="submit" aria-busy={busy}>
          Save speed limits
        </button>
        {saved !== undefined && (
          <span class="muted" role="status">
            {saved}
          </span>
        )}
      </div>
    </form>
  );
}
