import type { MovieSnapshot, ReleaseName } from '../domain/movie.js';
import type { SqliteDatabase } from './database.js';

/** Who decided which movie a job is: the automatic identification, or the user (which wins). */
export type MovieLinkOrigin = 'auto' | 'user';

/** What a job was recognised as. `movie` is null when a lookup found nothing convincing. */
export interface MovieLink {
  jobId: string;
  origin: MovieLinkOrigin;
  /** 0..1 for automatic links; null for the user's own choice. */
  confidence: number | null;
  /** The torrent name as parsed, kept for display (resolution, source…) and re-matching. */
  release: ReleaseName;
  /** A snapshot taken when linking, so a job shows its movie with no network and no cache. */
  movie: MovieSnapshot | null;
  linkedAt: string;
}

interface LinkRow {
  job_id: string;
  tmdb_id: number | null;
  origin: string;
  confidence: number | null;
  release_json: string;
  movie_json: string | null;
  linked_at: string;
}

function fromRow(row: LinkRow): MovieLink {
  return {
    jobId: row.job_id,
    origin: row.origin === 'user' ? 'user' : 'auto',
    confidence: row.confidence,
    release: JSON.parse(row.release_json) as ReleaseName,
    movie: row.movie_json === null ? null : (JSON.parse(row.movie_json) as MovieSnapshot),
    linkedAt: row.linked_at,
  };
}

function toParams(link: MovieLink): Record<string, unknown> {
  return {
    job_id: link.jobId,
    tmdb_id: link.movie?.tmdbId ?? null,
    origin: link.origin,
    confidence: link.confidence,
    release_json: JSON.stringify(link.release),
    movie_json: link.movie === null ? null : JSON.stringify(link.movie),
    linked_at: link.linkedAt,
  };
}

/** The `movie_links` table: at most one movie per job, removed with the job. */
export class MovieLinksRepository {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    const insert = `
      INSERT INTO movie_links (job_id, tmdb_id, origin, confidence, release_json, movie_json, linked_at)
      VALUES (@job_id, @tmdb_id, @origin, @confidence, @release_json, @movie_json, @linked_at)
      ON CONFLICT (job_id) DO UPDATE SET tmdb_id = excluded.tmdb_id, origin = excluded.origin,
        confidence = excluded.confidence, release_json = excluded.release_json, movie_json = excluded.movie_json,
        linked_at = excluded.linked_at`;
    this.statements = {
      set: db.prepare(insert),
      // An automatic result never overwrites the user's choice.
      setUnlessUserChosen: db.prepare(`${insert} WHERE movie_links.origin = 'auto'`),
      get: db.prepare<[string], LinkRow>('SELECT * FROM movie_links WHERE job_id = ?'),
      // The ids as one JSON array: one statement for a page of any size.
      byJobs: db.prepare<[string], LinkRow>(
        'SELECT * FROM movie_links WHERE job_id IN (SELECT value FROM json_each(?))',
      ),
      byTmdbId: db.prepare<[number], LinkRow>('SELECT * FROM movie_links WHERE tmdb_id = ? ORDER BY job_id'),
      delete: db.prepare('DELETE FROM movie_links WHERE job_id = ?'),
    };
  }

  /** Stores `link` as given (the user's correction, or a forced re-link). */
  set(link: MovieLink): void {
    this.statements.set.run(toParams(link));
  }

  /** Stores an automatic link unless the user already chose; returns whether it was stored. */
  setAutomatic(link: Omit<MovieLink, 'origin'>): boolean {
    return this.statements.setUnlessUserChosen.run(toParams({ ...link, origin: 'auto' })).changes > 0;
  }

  get(jobId: string): MovieLink | undefined {
    const row = this.statements.get.get(jobId);
    return row === undefined ? undefined : fromRow(row);
  }

  /** The links of these jobs, in one read; a job without one is not in the map. */
  getMany(jobIds: readonly string[]): Map<string, MovieLink> {
    const found = new Map<string, MovieLink>();
    if (jobIds.length === 0) return found;
    for (const row of this.statements.byJobs.all(JSON.stringify(jobIds))) {
      const link = fromRow(row);
      found.set(link.jobId, link);
    }
    return found;
  }

  /** Every job linked to this movie (several releases of one film). */
  byTmdbId(tmdbId: number): MovieLink[] {
    return this.statements.byTmdbId.all(tmdbId).map(fromRow);
  }

  delete(jobId: string): void {
    this.statements.delete.run(jobId);
  }
}
