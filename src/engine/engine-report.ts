/** What `checkEngine()` finds (src/engine/engine-patches.ts): free of engine types, for the public API. */

export interface EngineCheck {
  /** The patch file's name without `.patch` (patches/<name>.patch), or the pinned package. */
  name: string;
  kind: 'patch' | 'pin';
  /** What the patch or pin gives, in a few words. */
  gives: string;
  ok: boolean;
  /** Why the check failed. */
  problem?: string;
}

export interface EngineReport {
  engine: string;
  /** True when the engine runs from the package's bundle (dist), false from node_modules (source). */
  bundled: boolean;
  ok: boolean;
  checks: EngineCheck[];
}
