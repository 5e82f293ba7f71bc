/** What every command gets: the I/O, the output mode, and the configuration, resolved once on first use. */
import type { ChillyConfig } from '../config/chilly-config.js';
import { type ConfigFlags, type ResolvedConfig, resolveConfig } from '../config/resolve-config.js';
import { type CliIo, colorsEnabled, createStyle, println, type Style } from './io.js';

export interface CommandContext {
  io: CliIo;
  /** `--json`: machine-readable output only, on stdout. */
  json: boolean;
  style: Style;
  config(): ChillyConfig;
  resolved(): ResolvedConfig;
}

export function createContext(
  io: CliIo,
  options: { json: boolean; flags: ConfigFlags; configFile: string | undefined },
): CommandContext {
  let resolved: ResolvedConfig | undefined;
  const resolve = (): ResolvedConfig => {
    if (resolved === undefined) {
      resolved = resolveConfig({
        env: io.env,
        flags: options.flags,
        cwd: io.cwd,
        ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
      });
      for (const warning of resolved.warnings) println(io.stderr, `chilly: warning: ${warning}`);
    }
    return resolved;
  };
  return {
    io,
    json: options.json,
    style: createStyle(colorsEnabled(io.stdout, io.env)),
    config: () => resolve().config,
    resolved: resolve,
  };
}
