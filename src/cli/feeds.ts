/**
 * Feeds for `tinfer run`, `bench` and `inspect`: files (.npy, .pb), literal values (`sr=16000`, `x=1,2,3`), or
 * deterministic random tensors of the declared type, with the dims that were used stated for each input.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { sizeOf, type TensorData } from '../dtype.js';
import { InputError, OptionError } from '../errors.js';
import { decodeTensor } from '../loader/index.js';
import { decodeNpy } from '../quantize/npy.js';
import type { InputMetadata, InferenceSession } from '../session/session.js';
import { Tensor, fromTensorData, type TensorType } from '../session/tensor.js';

/** How one input was fed: the tensor, where it came from, and which symbolic dims were guessed as 1. */
export interface FeedSource {
  name: string;
  tensor: Tensor;
  source: 'random' | 'file' | 'literal';
  guessed: string[];
  /** The declared dims, symbolic ones as <name>: '<batch>,3,<h>,<w>'. */
  declared?: string;
}

/** Concrete dims for an input: --shape overrides, symbolic/unknown dims default to 1 (listed in `guessed`). */
export function concreteDims(meta: InputMetadata, shapes: Map<string, number[]>, guessed: string[] = []): number[] {
  const given = shapes.get(meta.name);
  if (given) {
    const declared = meta.dims;
    if (declared && declared.length !== given.length) {
      throw new OptionError(`--shape ${meta.name}: the model declares rank ${declared.length} [${declared.map((d) => d ?? '?').join(',')}], got ${given.length} dims`, 'shape');
    }
    declared?.forEach((d, i) => {
      if (typeof d === 'number' && d !== given[i]) throw new OptionError(`--shape ${meta.name}: dim ${i} is fixed at ${d} by the model, got ${given[i]}`, 'shape');
    });
    return given;
  }
  return (meta.dims ?? [1]).map((d, i) => {
    if (typeof d === 'number') return d;
    guessed.push(d ?? `dim ${i}`);
    return 1;
  });
}

/** A deterministic pseudo-random tensor of the input's type: floats in [-1, 1), ints in [0, 10), bools 0/1. */
export function randomTensor(type: string, dims: number[], seed: number): Tensor {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const n = sizeOf(dims);
  switch (type) {
    case 'float32':
      return new Tensor(type, Float32Array.from({ length: n }, () => next() * 2 - 1), dims);
    case 'float64':
      return new Tensor(type, Float64Array.from({ length: n }, () => next() * 2 - 1), dims);
    case 'float16':
    case 'bfloat16':
      return new Tensor(type, new Uint16Array(n), dims);
    case 'bool':
      return new Tensor('bool', Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0)), dims);
    case 'string':
      return new Tensor('string', Array.from({ length: n }, () => 'a'), dims);
    default:
      return new Tensor(type as TensorType, Array.from({ length: n }, () => Math.floor(next() * 10)), dims);
  }
}

/** Reads `--input name=file.npy|file.pb`; a missing or unreadable file is one clear InputError. */
function readInputFile(name: string, path: string): TensorData {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new InputError(`--input ${name}: cannot read '${path}': ${why}`, { input: name, expected: 'a readable .npy or .pb file', actual: path });
  }
  return extname(path).toLowerCase() === '.npy' ? decodeNpy(bytes) : decodeTensor(bytes);
}

const LOOKS_LIKE_FILE = /[\\/]|\.(npy|pb|bin|onnx)$/i;

/** `--input x=1,2,3` / `sr=16000` / `mask=true`: values of the input's type, with its dims when the count matches. */
function literalTensor(meta: InputMetadata, text: string, shapes: Map<string, number[]>): Tensor {
  const parts = text.split(',').map((p) => p.trim());
  const type = meta.type as TensorType;
  let values: (number | string)[];
  if (type === 'string') values = parts;
  else {
    values = parts.map((p) => (p === 'true' ? 1 : p === 'false' ? 0 : Number(p)));
    const bad = parts.findIndex((p, i) => p === '' || Number.isNaN(values[i]) && p.toLowerCase() !== 'nan');
    if (bad >= 0) throw new InputError(`--input ${meta.name}: '${parts[bad]}' is not a number (give a .npy/.pb file or values like 1,2,3)`, { input: meta.name, expected: `${type} values`, actual: parts[bad] });
    if (type.startsWith('int') || type.startsWith('uint')) {
      const frac = values.findIndex((v) => !Number.isInteger(v));
      if (frac >= 0) throw new InputError(`--input ${meta.name}: ${type} needs integers, got ${values[frac]}`, { input: meta.name, expected: type, actual: String(values[frac]) });
    }
    if (type === 'float16' || type === 'bfloat16') throw new InputError(`--input ${meta.name}: literal ${type} values are not supported; give a .npy or .pb file`, { input: meta.name });
  }
  const guessed: string[] = [];
  const declared = meta.dims === null ? null : concreteDims(meta, shapes, guessed);
  const dims = declared && guessed.length === 0 && sizeOf(declared) === values.length ? declared : declared && declared.length === 0 && values.length === 1 ? [] : [values.length];
  return new Tensor(type, values as number[], dims);
}

/**
 * Feeds for every input: `inputs` are `name=VALUE` specs (files or literals); the rest are random with dims from
 * `shapes` or the declared fixed dims. Symbolic dims without a --shape are set to 1 and listed in `guessed`.
 */
export function feedSources(session: InferenceSession, inputs: readonly string[], shapes: Map<string, number[]>): FeedSource[] {
  const given = new Map<string, FeedSource>();
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new OptionError(`--input expects name=file.npy, name=file.pb or name=1,2,3; got '${spec}'`, 'input');
    const name = spec.slice(0, eq);
    const value = spec.slice(eq + 1);
    const meta = session.inputMetadata.find((m) => m.name === name);
    if (!meta) throw new InputError(`--input: the model has no input '${name}'; inputs are ${session.inputNames.join(', ')}`, { input: name, expected: session.inputNames.join(', '), actual: name });
    const isFile = LOOKS_LIKE_FILE.test(value);
    const tensor = isFile ? fromTensorData(readInputFile(name, value)) : literalTensor(meta, value, shapes);
    given.set(name, { name, tensor, source: isFile ? 'file' : 'literal', guessed: [] });
  }
  for (const name of shapes.keys()) {
    if (!session.inputNames.includes(name)) throw new OptionError(`--shape: the model has no input '${name}'; inputs are ${session.inputNames.join(', ')}`, 'shape', session.inputNames);
  }
  return session.inputMetadata.map((meta, i): FeedSource => {
    const fed = given.get(meta.name);
    if (fed) return fed;
    const guessed: string[] = [];
    const dims = concreteDims(meta, shapes, guessed);
    const declared = (meta.dims ?? []).map((d, k) => (typeof d === 'number' ? d : `<${d ?? `dim${k}`}>`)).join(',');
    return { name: meta.name, tensor: randomTensor(meta.type, dims, 1234 + i), source: 'random', guessed, declared };
  });
}

export function feedsOf(sources: readonly FeedSource[]): Record<string, Tensor> {
  return Object.fromEntries(sources.map((s) => [s.name, s.tensor]));
}

/** `x: float32[1,3,320,320] (random)`. */
export function describeFeed(s: FeedSource): string {
  return `${s.name}: ${s.tensor.type}[${s.tensor.dims.join(',')}] (${s.source}${s.guessed.length ? `; symbolic ${s.guessed.join(', ')} set to 1` : ''})`;
}

/** The loud stderr line for guessed dims: which input, which dims, and the --shape that would fix them. */
export function guessWarnings(sources: readonly FeedSource[]): string[] {
  return sources
    .filter((s) => s.guessed.length > 0)
    .map((s) => `tinfer: warning: input '${s.name}' has symbolic dims (${s.guessed.join(', ')}); GUESSED 1 for each. Give the real sizes with --shape ${s.name}=${s.declared ?? s.tensor.dims.join(',')}`);
}

/** Random or file-backed feeds (the guessed-dims warnings go to stderr). */
export function makeFeeds(session: InferenceSession, inputs: string[], shapes: Map<string, number[]>): Record<string, Tensor> {
  const sources = feedSources(session, inputs, shapes);
  for (const w of guessWarnings(sources)) process.stderr.write(`${w}\n`);
  return feedsOf(sources);
}
