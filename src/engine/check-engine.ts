/**
 * `checkEngine()`, exported by the package and shown by `chilly doctor`: which of the engine
 * patches (patches/*.patch) and pins the running engine carries, and whether it is the bundle.
 * A separate module so that the public declarations name no engine type.
 */
import { engineModules } from './bittorrent-engine.js';
import { checkEngineModules } from './engine-patches.js';
import type { EngineReport } from './engine-report.js';

export function checkEngine(): Promise<EngineReport> {
  return checkEngineModules(engineModules);
}
