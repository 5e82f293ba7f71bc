import { ChillyError } from './errors.js';

/** Speed limits for all downloads together and all uploads together. */
export interface RateLimits {
  /** Bytes per second all downloads together may take; 0: no limit. */
  downloadBytesPerSecond: number;
  /** Bytes per second all uploads together may send; 0: no limit. */
  uploadBytesPerSecond: number;
}

/**
 * The limits as whole, non-negative bytes per second (0: no limit), copied without anything else
 * the caller's object carries; `validation_failed` otherwise.
 */
export function checkedRateLimits(limits: RateLimits): RateLimits {
  const { downloadBytesPerSecond, uploadBytesPerSecond } = limits ?? ({} as Partial<RateLimits>);
  for (const value of [downloadBytesPerSecond, uploadBytesPerSecond]) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ChillyError('validation_failed', 'Speed limits are whole numbers of bytes per second, 0 for none.');
    }
  }
  return { downloadBytesPerSecond, uploadBytesPerSecond } as RateLimits;
}
