/**
 * The environment is handed in (the CLI passes `process.env`, tests their own): nothing in the
 * configuration reads this process's variables by itself.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The trimmed value; undefined when unset or blank (an empty variable counts as unset). */
export function nonEmptyString(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
