/**
 * Something the server is asked for again every few seconds while it changes (a running job's peers
 * and trackers), and once otherwise. Asks one at a time; stops when the component goes away.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.js';

export const POLL_EVERY_MS = 3_000;

export interface Polled<T> {
  /** The latest answer (kept while a later question fails). */
  data: T | undefined;
  /** Why the latest question failed; undefined once one succeeds again. */
  error: string | undefined;
  /** An answer had otherwise (an action's): shown at once, until the next question. */
  replace: (data: T) => void;
}

/**
 * `load` now, then every `everyMs` while `live`. `key` names what is asked (a job's id): another key
 * starts again. A change of `live` asks once more at once (the last state of a job that stopped).
 */
export function usePolled<T>(
  key: string,
  live: boolean,
  load: (signal: AbortSignal) => Promise<T>,
  everyMs = POLL_EVERY_MS,
): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  /** Counts the answers had otherwise: a question asked before one of them answers something older. */
  const replaced = useRef(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    async function ask() {
      const generation = replaced.current;
      try {
        const answer = await load(controller.signal);
        if (controller.signal.aborted) return;
        if (generation === replaced.current) setData(answer);
        setError(undefined);
      } catch (failure) {
        if (controller.signal.aborted) return;
        setError(describeError(failure));
      }
      if (live) timer = setTimeout(ask, everyMs);
    }
    void ask();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // `load` is a new function on every render: what it asks is named by `key`.
  }, [key, live, everyMs]);

  function replace(answer: T) {
    replaced.current += 1;
    setData(answer);
    setError(undefined);
  }

  return { data, error, replace };
}
