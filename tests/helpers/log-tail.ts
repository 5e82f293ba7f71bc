import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last `maxBytes` of a log file, for a failing test's message ("(no log file)" when unreadable). */
export function readTail(path: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '(no log file)';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
