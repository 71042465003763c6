/** A small argv parser: positionals, `--flag value`, repeated flags, and `name=value` pairs. */
import { TinferError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(argv: string[], booleanFlags: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else if (booleanFlags.includes(name)) value = 'true';
    else {
      const next = argv[++i];
      if (next === undefined) throw new TinferError(`--${name} needs a value`);
      value = next;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

export function flagNumber(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new TinferError(`--${name} must be a number, got '${v}'`);
  return n;
}

/** `name=1,3,224,224` pairs. */
export function flagShapes(args: ParsedArgs): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const s of args.flags.get('shape') ?? []) {
    const eq = s.lastIndexOf('=');
    if (eq <= 0) throw new TinferError(`--shape expects name=d0,d1,..., got '${s}'`);
    const dims = s.slice(eq + 1).split(/[,x]/).map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new TinferError(`--shape: bad dims in '${s}'`);
    shapes.set(s.slice(0, eq), dims);
  }
  return shapes;
}
