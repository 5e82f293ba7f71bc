/**
 * What the server's download engine can do (GET /settings, `engine.capabilities`), asked once: a
 * control the engine cannot do is not offered, and the page says why. Until the answer arrives (or
 * when it cannot be had) every control is offered; the server's own refusal then says why.
 */
import { useEffect, useState } from 'preact/hooks';
import { type Engine, getSettings, type Job } from './api.js';

export type Capability =
  | 'streaming'
  | 'fileSelection'
  | 'sequentialPieces'
  | 'resumeData'
  | 'localFiles'
  | 'rateLimits'
  | 'recheck'
  | 'peerList'
  | 'moveData'
  | 'trackerList';

let known: Engine | undefined;
let asking: Promise<Engine> | undefined;

/** The engine, once the server has said (undefined meanwhile, or when it could not be asked). */
export function useEngine(): Engine | undefined {
  const [engine, setEngine] = useState(known);
  useEffect(() => {
    if (known !== undefined) return;
    let mounted = true;
    asking ??= getSettings().then(
      (settings) => {
        known = settings.engine;
        return settings.engine;
      },
      (failure: unknown) => {
        asking = undefined;
        throw failure;
      },
    );
    asking.then(
      (answer) => {
        if (mounted) setEngine(answer);
      },
      () => undefined,
    );
    return () => {
      mounted = false;
    };
  }, []);
  return engine;
}

/** What the engine would have to do, for the sentence that says it cannot. */
const CANNOT: Record<Capability, string> = {
  streaming: 'play a film while it downloads',
  fileSelection: 'download only some of the files',
  sequentialPieces: 'download pieces in order',
  resumeData: 'keep resume data',
  localFiles: "read a download's files on this computer",
  rateLimits: 'limit speeds from here: set them in the engine itself',
  recheck: 'check the data again from here: use its own recheck',
  peerList: 'list the peers from here: see them in the engine itself',
  moveData: 'move the data from here: use its own “set location”',
  trackerList: 'list or change the trackers from here: use its own tracker list',
};

/** Why a control is not offered, or undefined when the engine can do it (or is not known yet). */
export function cannot(engine: Engine | undefined, capability: Capability): string | undefined {
  if (engine === undefined || engine.capabilities[capability] !== false) return undefined;
  return `The ${engine.name} engine cannot ${CANNOT[capability]}.`;
}

/** Whether a job talks to peers (a torrent); a direct download has no peers, trackers or seeding. */
export function isTorrent(job: Job): boolean {
  return job.sourceType === 'torrent';
}
