/**
 * A small argv parser: positionals, `--flag value`, `--flag=value`, repeated flags, and `name=value` pairs.
 * Each command declares its flags, so an unknown flag or a bad value is an OptionError listing the valid ones.
 */
import { OptionError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

/** A command's flags: those that take a value, and those that are switches. */
export interface FlagSpec {
  command: string;
  values: readonly string[];
  booleans?: readonly string[];
}

/** With a FlagSpec, unknown flags are errors; with a plain list of switches, any flag is accepted (library use). */
export function parseArgs(argv: string[], spec: FlagSpec | readonly string[] = []): ParsedArgs {
  const open = Array.isArray(spec);
  const s: FlagSpec = open ? { command: 'tinfer', values: [], booleans: spec as readonly string[] } : (spec as FlagSpec);
  const booleans = s.booleans ?? [];
  const known = [...s.values, ...booleans];
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a.length > 1 && a !== '-') {
        if (!open) throw new OptionError(`${s.command}: unknown option '${a}'; valid options: ${known.map((f) => `--${f}`).join(' ')}`, a, known);
      }
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!open && !known.includes(name)) {
      throw new OptionError(`${s.command}: unknown option '--${name}'; valid options: ${known.map((f) => `--${f}`).join(' ')}`, name, known);
    }
    let value: string;
    if (booleans.includes(name)) {
      if (eq > 0) throw new OptionError(`${s.command}: --${name} is a switch and takes no value`, name);
      value = 'true';
    } else if (eq > 0) value = a.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new OptionError(`${s.command}: --${name} needs a value`, name);
      value = next;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

/** A numeric flag: an integer unless `integer: false`, at least `min`. */
export function flagNumber(args: ParsedArgs, name: string, fallback: number, limits: { min?: number; integer?: boolean } = {}): number {
  const v = args.flags.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const n = Number(v);
  const integer = limits.integer ?? true;
  const min = limits.min ?? 0;
  const what = `${integer ? 'an integer' : 'a number'} >= ${min}`;
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new OptionError(`--${name} must be ${what}, got '${v}'`, name);
  }
  return n;
}

/** A byte count: a positive number, optionally with a binary suffix K, M or G (`--memory-limit 120M`); undefined when absent. */
export function flagBytes(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name)?.at(-1);
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*$/i.exec(v);
  const n = m === null ? NaN : Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
  if (!(n > 0) || !Number.isFinite(n)) throw new OptionError(`--${name} must be a positive byte count (e.g. 120000000 or 120M), got '${v}'`, name);
  return Math.floor(n);
}

/** A flag with a fixed set of values. */
export function flagChoice<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const v = args.flags.get(name)?.at(-1);
  if (v === undefined) return fallback;
  if (!choices.includes(v as T)) throw new OptionError(`--${name} must be one of ${choices.join(', ')}, got '${v}'`, name, choices);
  return v as T;
}

/** `name=1,3,224,224` (or `1x3x224x224`) pairs. */
export function flagShapes(args: ParsedArgs): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const s of args.flags.get('shape') ?? []) {
    const eq = s.lastIndexOf('=');
    if (eq <= 0) throw new OptionError(`--shape expects name=d0,d1,..., got '${s}'`, 'shape');
    const text = s.slice(eq + 1);
    const dims = text === '' ? [] : text.split(/[,x]/).map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new OptionError(`--shape: dims must be non-negative integers, got '${s}'`, 'shape');
    shapes.set(s.slice(0, eq), dims);
  }
  return shapes;
}
