/** The jobs, live: progress, speeds, peers, ETA, ratio, and pause / resume / cancel / play. */
import { type Job, jobName } from '../api.js';
import { JobActions } from '../components/job-actions.js';
import { JobProgress, JobStats } from '../components/job-progress.js';
import { ScreenTitle } from '../components/screen-title.js';
import { jobStatusText } from '../format.js';
import { type Connection, useJobs } from '../jobs-store.js';
import { href } from '../router.js';

export function DownloadsScreen() {
  const store = useJobs();
  const { jobs, connection } = store;
  return (
    <>
      <div class="screen-head">
        <ScreenTitle>Downloads</ScreenTitle>
        <a class="button" href={href({ screen: 'add' })}>
          Add a download
        </a>
      </div>
      <ConnectionState connection={connection} />
      {!store.loaded ? (
        connection.state === 'connecting' && <p class="muted">Loading the downloads…</p>
      ) : jobs.length === 0 ? (
        <div class="empty">
          <p>
            No downloads yet — <a href={href({ screen: 'add' })}>add a magnet link</a> or a .torrent file.
          </p>
        </div>
      ) : (
        <>
          <ul class="jobs" aria-label="Downloads">
            {jobs.map((job) => (
              <JobCard key={job.id} job={job} />
            ))}
          </ul>
          {store.total > jobs.length && (
            <p class="muted">
              The newest {jobs.length} of {store.total} downloads. <code>chilly ls</code> lists them all.
            </p>
          )}
        </>
      )}
    </>
  );
}

/** Said politely, not as an alert: the app reconnects by itself. */
function ConnectionState({ connection }: { connection: Connection }) {
  if (connection.state !== 'retrying') return null;
  return (
    <p class="error" role="status">
      Live updates stopped: {connection.message} Trying again in {connection.retryInSeconds} s.
    </p>
  );
}

function JobCard({ job }: { job: Job }) {
  const titleId = `job-title-${job.id}`;
  return (
    <li class="job-card">
      <div class="job-card-head">
        <h2 id={titleId} class="job-name">
          <a href={href({ screen: 'job', id: job.id })}>{jobName(job)}</a>
        </h2>
        <p class={`status status-${job.status}`}>{jobStatusText(job)}</p>
      </div>
      <JobProgress job={job} />
      <JobStats job={job} />
      {job.error !== undefined && (
        <p class="job-error">
          {job.error.code}: {job.error.message}
        </p>
      )}
      <JobActions job={job} />
    </li>
  );
}
