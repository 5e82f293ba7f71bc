/** The peers a running job is connected to (GET /download/peers/{id}), asked again every few seconds. */
import { client, type Job, type JobPeer, unwrap } from '../api.js';
import { cannot, useEngine } from '../engine.js';
import { formatPercent, formatSpeed, isRunning } from '../format.js';
import { usePolled } from '../polling.js';
import { ErrorMessage } from './error-message.js';
import { TableScroll } from './table-scroll.js';

export function PeerTable({ job }: { job: Job }) {
  const why = cannot(useEngine(), 'peerList');
  return (
    <section aria-labelledby="peers-heading">
      <h2 id="peers-heading">Peers</h2>
      {why === undefined ? <Peers job={job} /> : <p class="muted">{why}</p>}
    </section>
  );
}

function Peers({ job }: { job: Job }) {
  const running = isRunning(job);
  const { data, error } = usePolled(job.id, running, async (signal) => {
    const answer = unwrap(await client.GET('/download/peers/{id}', { params: { path: { id: job.id } }, signal }));
    return answer.peers;
  });
  const peers = data === undefined ? undefined : [...data].sort(fastestFirst);
  return (
    <>
      <ErrorMessage message={error} />
      {peers === undefined ? (
        error === undefined && <p class="muted">Asking for the peers…</p>
      ) : peers.length === 0 ? (
        <p class="muted">{running ? 'No peers connected right now.' : 'No peers: the download is not running.'}</p>
      ) : (
        <>
          <p class="muted">
            {peers.length === 1 ? '1 peer' : `${peers.length} peers`} connected
            {running ? ', updated every few seconds' : ''}.
          </p>
          <TableScroll label="Peer table">
            <table class="settings" aria-labelledby="peers-heading">
              <thead>
                <tr>
                  <th scope="col">Peer</th>
                  <th scope="col">Transfer</th>
                </tr>
              </thead>
              <tbody>
                {peers.map((peer) => (
                  <tr key={peer.address}>
                    <th scope="row">
                      <code class="path">{peer.address}</code>
                      <br />
                      <span class="muted">
                        {peer.client} · has {formatPercent(peer.progress)}
                      </span>
                    </th>
                    <td>
                      down {formatSpeed(peer.downloadSpeed)} · up {formatSpeed(peer.uploadSpeed)}
                      <br />
                      <span class="muted">{peerState(peer)}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
    </>
  );
}

function fastestFirst(a: JobPeer, b: JobPeer): number {
  return b.downloadSpeed + b.uploadSpeed - (a.downloadSpeed + a.uploadSpeed) || a.address.localeCompare(b.address);
}

/** Who connected, who refuses whom, who wants what: in words. */
function peerState(peer: JobPeer): string {
  const words = [peer.incoming ? 'it connected to us' : 'we connected to it'];
  if (peer.choked) words.push('not sending to us now');
  if (peer.interested) words.push('we want its pieces');
  if (peer.peerInterested) words.push('it wants ours');
  return words.join(', ');
}
