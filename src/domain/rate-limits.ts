/** Speed limits for all downloads together and all uploads together. */
export interface RateLimits {
  /** Bytes per second all downloads together may take; 0: no limit. */
  downloadBytesPerSecond: number;
  /** Bytes per second all uploads together may send; 0: no limit. */
  uploadBytesPerSecond: number;
}
