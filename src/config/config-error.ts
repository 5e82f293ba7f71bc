import { ChillyError } from '../domain/errors.js';
import type { ConfigSource } from './config-source.js';

/** A setting that cannot be used, naming the key and where it came from. */
export class ConfigError extends ChillyError {
  readonly source: ConfigSource['kind'];

  constructor(source: ConfigSource['kind'], message: string, options?: { cause?: unknown }) {
    super('validation_failed', message, options);
    this.source = source;
  }
}
