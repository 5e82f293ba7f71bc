/** Where a setting's value came from, for `chilly config` and for error messages. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string }
  | { kind: 'override' };

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${source.file}`;
    case 'env':
      return `environment ${source.name}`;
    case 'flag':
      return `flag --${source.name}`;
    case 'override':
      return 'set by the caller';
  }
}
