/**
 * One polite live region for the whole app: state changes ("Night of the Living Dead: Completed")
 * and the outcome of actions are read out; progress ticks are not (they would be noise).
 */
import { useEffect, useState } from 'preact/hooks';

type Listener = (message: string) => void;
const listeners = new Set<Listener>();
let pending: string[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;

/** Says `message` politely; messages within a second are read as one. */
export function announce(message: string): void {
  pending.push(message);
  if (timer !== undefined) return;
  timer = setTimeout(() => {
    timer = undefined;
    const text = pending.slice(-3).join('. ');
    pending = [];
    for (const listener of listeners) listener(text);
  }, 1_000);
}

export function Announcer() {
  const [message, setMessage] = useState('');
  useEffect(() => {
    // The same words twice would change nothing in the page, and not be read again.
    const listener: Listener = (text) => setMessage((previous) => (previous === text ? `${text}\u00a0` : text));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return (
    <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
      {message}
    </div>
  );
}
