/**
 * A child process's stdout read as one JSON value a line: what the fixture processes in
 * tests/fixtures/ print to tell a test what they are doing.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` with each line parsed as JSON, in order, and `onNotJson` with the raw text of a
 * line that is not JSON (something else wrote to stdout: keep it for the failure message).
 */
export function forEachJsonLine<Line>(
  stdout: Readable | null,
  onLine: (line: Line) => void,
  onNotJson: (raw: string) => void,
): void {
  const reader = createInterface({ input: stdout as NodeJS.ReadableStream });
  reader.on('line', (raw) => {
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      onNotJson(raw);
      return;
    }
    onLine(line);
  });
}
