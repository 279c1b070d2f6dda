// How the operator verbs (`sluice topic create`, ...) are declared: options, positionals and help text in one place,
// parsed with node:util's parseArgs. Help, completion and the README's CLI reference are all made from these.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  description: string;
}

export interface VerbContext {
  url: string;
  json: boolean;
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

export interface Verb {
  /** e.g. ['topic', 'create'] */
  path: string[];
  summary: string;
  positionals?: string[];
  options?: Record<string, OptionSpec>;
  /** Extra lines after the options. */
  notes?: string;
  run(ctx: VerbContext): Promise<number>;
}

/** A usage error: exit code 2, with the verb's help. */
export class UsageError extends Error {}

export const globalOptions: Record<string, OptionSpec> = {
  url: { type: 'string', value: 'URL', description: 'the gateway’s HTTP API (default: $SLUICE_URL or http://127.0.0.1:8080)' },
  json: { type: 'boolean', description: 'print JSON instead of tables' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

function optionLine(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return `  ${flag.padEnd(30)} ${o.description}${o.multiple ? ' (repeatable)' : ''}`;
}

export function verbHelp(v: Verb): string {
  const args = (v.positionals ?? []).map((p) => ` ${p}`).join('');
  const lines = [`sluice ${v.path.join(' ')}${args} [options]: ${v.summary}`, '', 'Options:'];
  for (const [name, o] of Object.entries(v.options ?? {})) lines.push(optionLine(name, o));
  for (const [name, o] of Object.entries(globalOptions)) lines.push(optionLine(name, o));
  if (v.notes) lines.push('', v.notes.trimEnd());
  return lines.join('\n') + '\n';
}

export function parseVerb(v: Verb, argv: string[], env: NodeJS.ProcessEnv): VerbContext | 'help' {
  const options = { ...globalOptions, ...(v.options ?? {}) };
  // `--shift-by -10`: a value that is a negative number belongs to the option before it.
  const args = [...argv];
  for (let i = 0; i < args.length - 1; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : Object.entries(options).find(([, o]) => o.short !== undefined && `-${o.short}` === args[i])?.[0];
    if (name !== undefined && options[name]?.type === 'string' && /^-[0-9]+$/.test(args[i + 1])) {
      args.splice(i, 2, `--${name}=${args[i + 1]}`);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }])),
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values.help) return 'help';
  const expected = v.positionals ?? [];
  const required = expected.filter((p) => !p.startsWith('['));
  if (parsed.positionals.length < required.length) throw new UsageError(`missing ${required.slice(parsed.positionals.length).join(' ')}`);
  if (parsed.positionals.length > expected.length) throw new UsageError(`unexpected argument "${parsed.positionals[expected.length]}"`);
  const url = (parsed.values.url as string | undefined) ?? env.SLUICE_URL ?? 'http://127.0.0.1:8080';
  return { url, json: parsed.values.json === true, values: parsed.values, positionals: parsed.positionals };
}

/** An integer option (or undefined when absent); anything else is a usage error. */
export function intOption(ctx: VerbContext, name: string, min = 0): number | undefined {
  const raw = ctx.values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer of at least ${min}, not "${String(raw)}"`);
  return n;
}

export function stringList(ctx: VerbContext, name: string): string[] {
  const raw = ctx.values[name];
  return Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
}

/** `k=v` pairs of a repeatable option. */
export function pairs(ctx: VerbContext, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of stringList(ctx, name)) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--${name} takes key=value, not "${item}"`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}
