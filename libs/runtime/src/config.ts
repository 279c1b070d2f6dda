// One typed, validated configuration per service, read from environment variables.
// A bad value stops the service at start with a message naming the variable.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable}: ${message}`);
  }
}

export interface VarSpec<T> {
  /** Environment variable name, e.g. SLUICE_HTTP_PORT. */
  env: string;
  doc: string;
  /** Used when the variable is unset or empty; no default makes the variable required. */
  default?: T;
  /** How the default is shown in help and docs (when it is computed or long). */
  defaultText?: string;
  parse(raw: string): T;
}

type Parsed<S> = { [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

const spec =
  <T>(parse: (raw: string) => T) =>
  (env: string, doc: string, options: { default?: T; defaultText?: string } = {}): VarSpec<T> => ({ env, doc, parse, ...options });

function integer(raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not an integer`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${n} is outside ${min}..${max}`);
  return n;
}

export const v = {
  string: spec((raw) => raw),
  int: (env: string, doc: string, o: { default?: number; min?: number; max?: number; defaultText?: string } = {}): VarSpec<number> => ({
    env,
    doc,
    default: o.default,
    defaultText: o.defaultText,
    parse: (raw) => integer(raw, o.min ?? Number.MIN_SAFE_INTEGER, o.max ?? Number.MAX_SAFE_INTEGER),
  }),
  /** A TCP port; 0 lets the OS choose. */
  port: spec((raw) => integer(raw, 0, 65535)),
  bool: spec((raw) => {
    const s = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    throw new Error(`"${raw}" is not a boolean (true/false)`);
  }),
  oneOf: <const T extends string>(env: string, doc: string, values: readonly T[], o: { default?: T } = {}): VarSpec<T> => ({
    env,
    doc: `${doc} (${values.join(' | ')})`,
    default: o.default,
    parse: (raw) => {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
      return raw as T;
    },
  }),
  /** Comma-separated list. */
  list: spec((raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ),
  url: (env: string, doc: string, protocols: readonly string[], o: { default?: string; defaultText?: string } = {}): VarSpec<string> => ({
    env,
    doc,
    default: o.default,
    defaultText: o.defaultText,
    parse: (raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error(`"${raw}" is not a URL`);
      }
      if (!protocols.includes(url.protocol.replace(/:$/, ''))) throw new Error(`"${raw}" must use ${protocols.join(' or ')}`);
      return raw;
    },
  }),
};

export interface ConfigDefinition<S extends Record<string, VarSpec<unknown>>> {
  readonly service: string;
  readonly spec: S;
  /** Reads and validates; throws ConfigError naming the first bad variable. */
  load(source?: Record<string, string | undefined>): Parsed<S>;
  /** Plain-text table for --help. */
  help(): string;
  /** Markdown table for the README. */
  markdown(): string;
}

/**
 * `check` validates what single variables cannot (one value bounded by another); it throws ConfigError naming the
 * variable to change.
 */
export function defineConfig<S extends Record<string, VarSpec<unknown>>>(service: string, spec: S, check?: (config: Parsed<S>) => void): ConfigDefinition<S> {
  const showDefault = (s: VarSpec<unknown>): string =>
    s.defaultText ?? (s.default === undefined ? '(required)' : Array.isArray(s.default) ? s.default.join(',') : String(s.default));
  return {
    service,
    spec,
    load(source = process.env) {
      const out: Record<string, unknown> = {};
      for (const [key, s] of Object.entries(spec)) {
        const raw = source[s.env];
        if (raw === undefined || raw === '') {
          if (s.default === undefined) throw new ConfigError(s.env, 'is required');
          out[key] = s.default;
          continue;
        }
        try {
          out[key] = s.parse(raw);
        } catch (err) {
          throw new ConfigError(s.env, (err as Error).message);
        }
      }
      check?.(out as Parsed<S>);
      return out as Parsed<S>;
    },
    help() {
      const rows = Object.values(spec).map((s) => [s.env, showDefault(s), s.doc]);
      const w0 = Math.max(...rows.map((r) => r[0].length));
      const w1 = Math.max(...rows.map((r) => r[1].length));
      return rows.map((r) => `  ${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`).join('\n');
    },
    markdown() {
      const rows = Object.values(spec).map((s) => `| \`${s.env}\` | \`${showDefault(s)}\` | ${s.doc} |`);
      return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
    },
  };
}
