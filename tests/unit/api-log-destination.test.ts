/**
 * LogDestination, the request log's default destination, on real file descriptors: /dev/full
 * (ENOSPC on every write), /dev/null, and a FIFO nobody reads (EAGAIN once its 64 KiB are full),
 * then read. It never throws, says the loss once, bounds what it holds, and waits for a slow reader.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LogDestination } from '../../src/api/log-destination.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const LINE = `${JSON.stringify({ level: 30, msg: 'request completed', padding: 'x'.repeat(200) })}\n`;

describe('LogDestination', () => {
  it('on ENOSPC (/dev/full): loses the lines, says so once, never throws, keeps trying', {
    skip: !existsSync('/dev/full') && 'no /dev/full',
  }, async () => {
    const fd = openSync('/dev/full', 'w');
    const told: string[] = [];
    try {
      const destination = new LogDestination({ fd, onLoss: (message) => told.push(message) });
      for (let i = 0; i < 50; i++) destination.write(LINE);
      await destination.whenWritten(5_000);
      assert.equal(destination.lostLines, 50);
      assert.equal(told.length, 1);
      assert.match(
        told[0] ?? '',
        /request log cannot be written to file descriptor \d+ \(ENOSPC: no space left on device/,
      );
      destination.write(LINE);
      await destination.whenWritten(5_000);
      assert.equal(destination.lostLines, 51, 'a full disk may get space back: each line is tried');
      assert.equal(told.length, 1, 'said once');
    } finally {
      closeSync(fd);
    }
  });

  it('writes everything, in order, to a descriptor that takes it (/dev/null)', async () => {
    const fd = openSync('/dev/null', 'w');
    try {
      const destination = new LogDestination({ fd, onLoss: () => assert.fail('nothing is lost') });
      for (let i = 0; i < 1_000; i++) destination.write(LINE);
      await destination.whenWritten(5_000);
      assert.equal(destination.lostLines, 0);
    } finally {
      closeSync(fd);
    }
  });

  it('waits for a slow reader (EAGAIN), holds at most maxBufferedBytes, and delivers in order once read', async () => {
    const work = await tempDir('chilly-log-fifo-');
    const fifo = path.join(work.dir, 'log.fifo');
    execFileSync('mkfifo', [fifo], { timeout: 5_000 });
    // Read-write, non-blocking: the FIFO opens without a reader, and a full one answers EAGAIN.
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const told: string[] = [];
    try {
      const destination = new LogDestination({
        fd: writer,
        maxBufferedBytes: 64 * 1024,
        retryDelayMs: 5,
        onLoss: (message) => told.push(message),
      });
      const lines = Array.from({ length: 1_000 }, (_, i) => `${JSON.stringify({ n: i, padding: 'y'.repeat(200) })}\n`);
      const accepted = lines.map((line) => destination.write(line));
      // Let the pipe fill (64 KiB on Linux) and the EAGAIN retries start.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(accepted.includes(false), 'beyond the buffer, lines are refused');
      assert.ok(destination.lostLines > 0);
      assert.equal(told.length, 1);
      assert.match(told[0] ?? '', /buffer is full/);

      // Now read: what was kept arrives whole and in order.
      let text = '';
      const buffer = Buffer.alloc(64 * 1024);
      await waitUntil(
        () => {
          for (;;) {
            try {
              const read = readSync(reader, buffer, 0, buffer.length, null);
              if (read <= 0) break;
              text += buffer.subarray(0, read).toString('utf8');
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
              throw error;
            }
          }
          return text.split('\n').length - 1 === 1_000 - destination.lostLines;
        },
        { timeoutMs: 10_000, intervalMs: 10, what: 'every kept line to arrive' },
      );
      const numbers = text
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { n: number }).n);
      assert.deepEqual(
        numbers,
        lines.flatMap((_line, index) => (accepted[index] === true ? [index] : [])),
        'the accepted lines, in order',
      );
      await destination.whenWritten(5_000);
    } finally {
      closeSync(writer);
      closeSync(reader);
      await work.cleanup();
    }
  });
});
