/**
 * The library (GET /library: finished downloads with their films, from the server's own database,
 * so it works offline and without TMDB), with posters from the server's cache and a way to say
 * which film a download is.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { client, describeError, jobName, type LibraryItem, unwrap } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { MovieLink } from '../components/movie-link.js';
import { ScreenTitle } from '../components/screen-title.js';
import { formatBytes } from '../format.js';
import { href } from '../router.js';

export function MoviesScreen() {
  const [query, setQuery] = useState('');
  const [shownQuery, setShownQuery] = useState('');
  const [items, setItems] = useState<LibraryItem[]>();
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string>();

  const load = useCallback(async (words: string) => {
    setError(undefined);
    try {
      const page = unwrap(
        await client.GET('/library', { params: { query: { limit: 200, ...(words === '' ? {} : { query: words }) } } }),
      );
      setItems(page.items);
      setTotal(page.total);
      setShownQuery(words);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, []);

  useEffect(() => {
    void load('');
  }, [load]);

  return (
    <>
      <ScreenTitle>Movies</ScreenTitle>
      <search aria-label="Your films">
        <form
          class="search-form"
          onSubmit={(event) => {
            event.preventDefault();
            void load(query.trim());
          }}
        >
          <div class="field">
            <label for="library-query">Search your films</label>
            <input
              id="library-query"
              type="search"
              maxLength={200}
              value={query}
              onInput={(event) => setQuery(event.currentTarget.value)}
            />
          </div>
          <button type="submit">Search</button>
        </form>
      </search>
      <ErrorMessage message={error} />
      {items === undefined ? (
        error === undefined && <p class="muted">Loading the library…</p>
      ) : items.length === 0 ? (
        <p class="empty">
          {shownQuery === ''
            ? 'No films yet: finished downloads appear here.'
            : `No film in your library matches “${shownQuery}”.`}{' '}
          {shownQuery === '' && <a href={href({ screen: 'add' })}>Add a download</a>}
        </p>
      ) : (
        <>
          <p class="muted">
            {total} {total === 1 ? 'film' : 'films'}
            {shownQuery === '' ? '' : ` matching “${shownQuery}”`}
          </p>
          <ul class="library">
            {items.map((item) => (
              <LibraryCard key={item.job.id} item={item} onLinked={() => void load(shownQuery)} />
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function LibraryCard({ item, onLinked }: { item: LibraryItem; onLinked: () => void }) {
  const { job, movie } = item;
  const [posterFailed, setPosterFailed] = useState(false);
  const title = movie === null ? jobName(job) : movie.title;
  const poster = movie?.posterUrl ?? null;
  return (
    <li class="movie-card">
      {poster !== null && !posterFailed ? (
        <img class="poster" src={poster} alt="" loading="lazy" onError={() => setPosterFailed(true)} />
      ) : (
        <div class="poster poster-none" aria-hidden="true">
          {title.slice(0, 1).toUpperCase()}
        </div>
      )}
      <div class="movie-body">
        <h2 class="movie-title">
          {title}
          {movie?.year === null || movie?.year === undefined ? '' : ` (${movie.year})`}
        </h2>
        {movie !== null && (
          <p class="muted">
            {[
              movie.runtime === null ? undefined : `${movie.runtime} min`,
              movie.genres.join(', ') || undefined,
              movie.rating === null ? undefined : `TMDB ${movie.rating.toFixed(1)}`,
            ]
              .filter((part) => part !== undefined)
              .join(' · ')}
          </p>
        )}
        {movie?.overview != null && <p class="overview">{movie.overview}</p>}
        <p class="muted">
          <a href={href({ screen: 'job', id: job.id })}>{jobName(job)}</a>
          {job.progress.bytesTotal === null ? '' : ` · ${formatBytes(job.progress.bytesTotal)}`}
        </p>
        <div class="buttons">
          <a class="button" href={href({ screen: 'play', id: job.id })}>
            Play<span class="visually-hidden"> {title}</span>
          </a>
        </div>
        <MovieLink job={job} onLinked={onLinked} />
      </div>
    </li>
  );
}
