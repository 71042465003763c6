/**
 * Seeded random feeds for calibration and evaluation when no data is at hand. Float inputs are drawn from
 * N(0, 1) (like ImageNet-normalised images) by Box-Muller; integer inputs uniformly from [0, intHigh);
 * bool inputs 0/1. Symbolic dims take `shapes` overrides, else 1.
 */
import { sizeOf, type DType } from '../dtype.js';
import { UnsupportedError } from '../errors.js';
import type { Model } from '../loader/model.js';
import type { Feeds } from '../session/session.js';
import { Tensor, type TensorType } from '../session/tensor.js';

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Concrete dims for inputs with symbolic dims, by input name. */
  shapes?: Map<string, number[]>;
  /** Integer inputs are drawn from [0, intHigh) (default 10). */
  intHigh?: number;
}

/** mulberry32: a small, fast, well-mixed 32-bit generator; deterministic for a seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(next: () => number): number {
  const u = 1 - next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

function randomData(dtype: DType, n: number, next: () => number, intHigh: number): Tensor['data'] | number[] {
  switch (dtype) {
    case 'float32':
      return Float32Array.from({ length: n }, () => normal(next));
    case 'float64':
      return Float64Array.from({ length: n }, () => normal(next));
    case 'bool':
      return Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0));
    case 'int64':
      return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * intHigh)));
    case 'int8': case 'uint8': case 'int16': case 'uint16': case 'int32': case 'uint32':
      return Array.from({ length: n }, () => Math.floor(next() * intHigh));
    default:
      throw new UnsupportedError(`generate: cannot make random ${dtype} inputs`);
  }
}

/** `count` feeds for the model's (non-initializer) inputs, reproducible from `seed`. */
export function generateFeeds(model: Model, options: GenerateOptions): Feeds[] {
  const next = mulberry32(options.seed ?? 0);
  const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
  const feeds: Feeds[] = [];
  for (let k = 0; k < options.count; k++) {
    const f: Feeds = {};
    for (const input of inputs) {
      if (input.type.kind !== 'tensor') throw new UnsupportedError(`generate: input '${input.name}' is a ${input.type.kind}, not a tensor`);
      const dims = options.shapes?.get(input.name) ?? (input.type.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
      const dtype = input.type.dtype;
      f[input.name] = new Tensor(dtype as TensorType, randomData(dtype, sizeOf(dims), next, options.intHigh ?? 10) as Tensor['data'], dims);
    }
    feeds.push(f);
  }
  return feeds;
}
