/**
 * Time to the first N bytes of a file from the outside, for clients that report no piece events:
 * every 50 ms, read the pieces at the start of the file that have not matched yet and compare them
 * with the torrent's SHA-1 piece hashes (zeros of a preallocated file, or bytes not yet written,
 * do not match). Stops at the first piece that does not match, so each poll reads about one piece.
 * Resolution: the 50 ms interval plus one read; a piece written but not yet hashed by the client
 * counts as soon as its bytes are on disk (page cache) — what a player reading the file would get.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export class PrefixPoller {
  private confirmed = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Epoch ms when every piece of the prefix matched (the poll that saw it). */
  doneAt: number | undefined;

  constructor(
    private readonly file: string,
    private readonly pieceHashes: readonly Buffer[],
    private readonly pieceLength: number,
    prefixBytes: number,
    private readonly fileLength: number,
    intervalMs = 50,
  ) {
    this.pieces = Math.min(pieceHashes.length, Math.ceil(prefixBytes / pieceLength));
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  private readonly pieces: number;

  private async poll(): Promise<void> {
    if (this.busy || this.doneAt !== undefined) return;
    this.busy = true;
    try {
      const handle = await open(this.file, 'r').catch(() => undefined);
      if (handle === undefined) return;
      try {
        const buffer = Buffer.alloc(this.pieceLength);
        while (this.confirmed < this.pieces) {
          const offset = this.confirmed * this.pieceLength;
          const length = Math.min(this.pieceLength, this.fileLength - offset);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          if (bytesRead !== length) break;
          const digest = createHash('sha1').update(buffer.subarray(0, length)).digest();
          if (!digest.equals(this.pieceHashes[this.confirmed] as Buffer)) break;
          this.confirmed++;
        }
      } finally {
        await handle.close();
      }
      if (this.confirmed >= this.pieces) {
        this.doneAt = performance.timeOrigin + performance.now();
        this.stop();
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
