/**
 * Which film a download is: what its name says (always, TMDB or not), the linked film, and a TMDB
 * search to link another one (PUT /downloads/{id}/movie). Without a TMDB key the server answers
 * `503 tmdb_not_configured`, shown in words.
 */
import { useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, type MovieSummary, unwrap } from '../api.js';
import { jobsStore } from '../jobs-store.js';
import { parseReleaseName } from '../release-name.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

export function MovieLink({ job, onLinked }: { job: Job; onLinked?: (job: Job) => void }) {
  const parsed = parseReleaseName(jobName(job));
  const [open, setOpen] = useState(false);
  const movie = job.movie ?? null;
  const formId = `identify-${job.id}`;
  const tags = [parsed.resolution, parsed.source].filter((tag) => tag !== undefined).join(' · ');
  return (
    <div class="movie-link">
      <p>
        {movie === null ? 'Not linked to a film yet.' : 'Linked to '}
        {movie !== null && (
          <strong>
            {movie.title}
            {movie.year === null ? '' : ` (${movie.year})`}
          </strong>
        )}
        {movie !== null && (movie.origin === 'user' ? ', your choice.' : ', recognised from its name.')}
      </p>
      <p class="muted">
        From its name: {parsed.title}
        {parsed.year === undefined ? '' : ` (${parsed.year})`}
        {tags === '' ? '' : ` · ${tags}`}
      </p>
      <button
        type="button"
        class="secondary"
        aria-expanded={open}
        aria-controls={formId}
        onClick={() => setOpen(!open)}
      >
        {movie === null ? 'Find the film' : 'Change the film'}
        <span class="visually-hidden"> for {jobName(job)}</span>
      </button>
      {open && (
        <MovieSearch
          id={formId}
          job={job}
          initialQuery={parsed.title}
          initialYear={parsed.year}
          onLinked={(updated) => {
            setOpen(false);
            onLinked?.(updated);
          }}
        />
      )}
    </div>
  );
}

function MovieSearch({
  id,
  job,
  initialQuery,
  initialYear,
  onLinked,
}: {
  id: string;
  job: Job;
  initialQuery: string;
  initialYear: number | undefined;
  onLinked: (job: Job) => void;
}) {
  const [query, setQuery] = useState(initialQuery);
  const [year, setYear] = useState(initialYear === undefined ? '' : String(initialYear));
  const [results, setResults] = useState<MovieSummary[]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function search(event: Event) {
    event.preventDefault();
    if (busy || query.trim() === '') return;
    setBusy(true);
    setError(undefined);
    try {
      const yearNumber = Number(year);
      const page = unwrap(
        await client.GET('/metadata/search', {
          params: {
            query: {
              query: query.trim(),
              ...(year.trim() !== '' && Number.isInteger(yearNumber) ? { year: yearNumber } : {}),
            },
          },
        }),
      );
      setResults(page.results);
      announce(`${page.totalResults} films found`);
    } catch (failure) {
      setResults(undefined);
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  async function link(tmdbId: number | null) {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const updated = unwrap(
        await client.PUT('/downloads/{id}/movie', { params: { path: { id: job.id } }, body: { tmdbId } }),
      );
      jobsStore.upsert(updated);
      announce(tmdbId === null ? `${jobName(job)}: marked as no film` : `${jobName(job)}: film linked`);
      onLinked(updated);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  const prefix = `search-${job.id}`;
  return (
    <div class="movie-search" id={id}>
      <form class="search-form" onSubmit={search}>
        <div class="field">
          <label for={`${prefix}-query`}>Film title</label>
          <input
            id={`${prefix}-query`}
            type="search"
            required
            maxLength={200}
            value={query}
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </div>
        <div class="field year">
          <label for={`${prefix}-year`}>Year</label>
          <input
            id={`${prefix}-year`}
            type="number"
            inputMode="numeric"
            min={1870}
            max={2200}
            value={year}
            onInput={(event) => setYear(event.currentTarget.value)}
          />
        </div>
        <button type="submit" aria-busy={busy}>
          Search TMDB
        </button>
      </form>
      <ErrorMessage message={error} />
      {results !== undefined &&
        (results.length === 0 ? (
          <p>No film found at TMDB by that title.</p>
        ) : (
          <ul class="results">
            {results.map((result) => (
              <li key={result.tmdbId}>
                <div>
                  <strong>
                    {result.title}
                    {result.year === null ? '' : ` (${result.year})`}
                  </strong>
                  {result.overview !== null && <p class="overview">{result.overview}</p>}
                </div>
                <button type="button" onClick={() => link(result.tmdbId)}>
                  This is the film
                  <span class="visually-hidden">
                    : {result.title}
                    {result.year === null ? '' : ` (${result.year})`}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ))}
      <p>
        <button type="button" class="link-button" onClick={() => link(null)}>
          This download is no film
        </button>
      </p>
    </div>
  );
}
