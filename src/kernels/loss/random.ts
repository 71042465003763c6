import type { Data, DType, NumericArray, TensorType } from '../../dtype.js';
import { ONNX_DTYPE_CODES } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { attrFloat, attrInt, attrInts } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { requireFloat } from '../reduce/common.js';

/**
 * A seeded generator owned by one prepared kernel: xoshiro128** (Blackman & Vigna 2018), seeded through
 * splitmix32 from the `seed` attribute's float bits, or from Math.random when the model gives no seed
 * (ONNX: "if not specified, one will be auto generated"). Each run continues the sequence, so repeated runs
 * draw new values; the values cannot match numpy's generator, only its distribution.
 */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by the Box–Muller transform (1 - u keeps the logarithm's argument in (0, 1]). */
  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator for a node: its `seed` attribute (float) hashed by bit pattern, or a fresh random seed. */
export function generatorFor(ctx: PrepareContext): Xoshiro128 {
  const seed = attrFloat(ctx.node, 'seed');
  if (seed === undefined) return new Xoshiro128((Math.random() * 4294967296) >>> 0);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, seed);
  return new Xoshiro128((bits.getUint32(0) ^ Math.imul(bits.getUint32(4), 0x9e3779b1)) >>> 0);
}

const FLOAT_OUTPUTS: ReadonlySet<DType> = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);

/** The output dtype: the `dtype` attribute when present, else `fallback`; must be in `allowed`. */
function outputDtype(ctx: PrepareContext, fallback: DType, allowed: ReadonlySet<DType>): DType {
  const code = attrInt(ctx.node, 'dtype');
  const dtype = code === undefined ? fallback : ONNX_DTYPE_CODES[code];
  if (dtype === undefined || !allowed.has(dtype)) {
    throw new UnsupportedError(`${nodeLabel(ctx.node)}: output dtype ${dtype ?? code} is not supported`);
  }
  return dtype;
}

/** Fills a float output with draws of `sample`. */
function fillingKernel(out: TensorType, sample: () => number): PreparedKernel {
  return {
    outputs: [out],
    run(_inputs, outputs) {
      const y = outputs[0] as NumericArray;
      for (let i = 0; i < y.length; i++) y[i] = sample();
    },
  };
}

function uniformSampler(ctx: PrepareContext): () => number {
  const rng = generatorFor(ctx);
  const low = attrFloat(ctx.node, 'low', 0);
  const high = attrFloat(ctx.node, 'high', 1);
  return () => low + (high - low) * rng.uniform();
}

function normalSampler(ctx: PrepareContext): () => number {
  const rng = generatorFor(ctx);
  const mean = attrFloat(ctx.node, 'mean', 0);
  const scale = attrFloat(ctx.node, 'scale', 1);
  return () => mean + scale * rng.normal();
}

/** The `shape` attribute of RandomUniform / RandomNormal. */
function shapeAttr(ctx: PrepareContext): number[] {
  const shape = attrInts(ctx.node, 'shape');
  if (shape === undefined) throw kernelError(ctx, `attribute 'shape' is required`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw kernelError(ctx, `shape [${shape}] has a negative dim`);
  return shape;
}

/** Output type of a *Like op: the input's shape; dtype attribute or the input's (float) type. */
function likeType(ctx: PrepareContext): TensorType {
  const x = requireInput(ctx, 0);
  return { dtype: outputDtype(ctx, x.dtype, FLOAT_OUTPUTS), shape: [...x.shape] };
}

/** RandomUniform (ONNX 1, 22): () -> (shape) of dtype (default float), uniform in [low, high). */
export const randomUniformKernel: KernelDef = {
  opType: 'RandomUniform',
  prepare: (ctx) => fillingKernel({ dtype: outputDtype(ctx, 'float32', FLOAT_OUTPUTS), shape: shapeAttr(ctx) }, uniformSampler(ctx)),
};

/** RandomNormal (ONNX 1, 22): () -> (shape) of dtype (default float), normal with mean and scale (std dev). */
export const randomNormalKernel: KernelDef = {
  opType: 'RandomNormal',
  prepare: (ctx) => fillingKernel({ dtype: outputDtype(ctx, 'float32', FLOAT_OUTPUTS), shape: shapeAttr(ctx) }, normalSampler(ctx)),
};

/** RandomUniformLike (ONNX 1, 22): input (...) -> (...) uniform in [low, high); only the input's type is read. */
export const randomUniformLikeKernel: KernelDef = {
  opType: 'RandomUniformLike',
  prepare: (ctx) => fillingKernel(likeType(ctx), uniformSampler(ctx)),
};

/** RandomNormalLike (ONNX 1, 22): input (...) -> (...) normal with mean and scale. */
export const randomNormalLikeKernel: KernelDef = {
  opType: 'RandomNormalLike',
  prepare: (ctx) => fillingKernel(likeType(ctx), normalSampler(ctx)),
};

const BERNOULLI_OUTPUTS: ReadonlySet<DType> = new Set<DType>([
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool',
]);

function writeBits(y: Data, i: number, one: boolean): void {
  if (y instanceof BigInt64Array || y instanceof BigUint64Array) y[i] = one ? 1n : 0n;
  else (y as NumericArray)[i] = one ? 1 : 0;
}

/** Bernoulli (ONNX 15, 22): input (...) probabilities -> (...) of dtype (default the input's), 1 with probability p. */
export const bernoulliKernel: KernelDef = {
  opType: 'Bernoulli',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    const dtype = outputDtype(ctx, x.dtype, BERNOULLI_OUTPUTS);
    const rng = generatorFor(ctx);
    return {
      outputs: [{ dtype, shape: [...x.shape] }],
      run(inputs, outputs) {
        const p = inputs[0] as NumericArray;
        const y = outputs[0]!;
        for (let i = 0; i < p.length; i++) writeBits(y, i, rng.uniform() < p[i]!);
      },
    };
  },
};

/**
 * Multinomial (ONNX 7, 22): input (batch, classes) unnormalized log-probabilities -> (batch, sample_size)
 * class indices (int32 by default, or int64), each drawn with probability softmax(input)[class].
 */
export const multinomialKernel: KernelDef = {
  opType: 'Multinomial',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    requireFloat(ctx, x.dtype);
    if (x.shape.length !== 2) throw kernelError(ctx, `input must be (batch, classes), got shape [${x.shape}]`);
    const dtype = outputDtype(ctx, 'int32', new Set<DType>(['int32', 'int64']));
    const samples = attrInt(ctx.node, 'sample_size', 1);
    if (samples < 0) throw kernelError(ctx, `sample_size must be ≥ 0, got ${samples}`);
    const [batch, classes] = x.shape as [number, number];
    if (classes < 1) throw kernelError(ctx, 'needs at least one class');
    const rng = generatorFor(ctx);
    const cumulative = new Float64Array(classes);
    return {
      outputs: [{ dtype, shape: [batch, samples] }],
      run(inputs, outputs) {
        const logits = inputs[0] as NumericArray;
        const y = outputs[0]!;
        for (let b = 0; b < batch; b++) {
          let max = -Infinity;
          for (let c = 0; c < classes; c++) max = Math.max(max, logits[b * classes + c]!);
          let total = 0;
          for (let c = 0; c < classes; c++) {
            total += Math.exp(logits[b * classes + c]! - max);
            cumulative[c] = total;
          }
          for (let s = 0; s < samples; s++) {
            const target = rng.uniform() * total;
            let lo = 0;
            let hi = classes - 1;
            while (lo < hi) {
              const mid = (lo + hi) >> 1;
              if (cumulative[mid]! > target) hi = mid;
              else lo = mid + 1;
            }
            if (y instanceof BigInt64Array) y[b * samples + s] = BigInt(lo);
            else (y as Int32Array)[b * samples + s] = lo;
          }
        }
      },
    };
  },
};

export const randomKernels: KernelDef[] = [
  randomUniformKernel,
  randomNormalKernel,
  randomUniformLikeKernel,
  randomNormalLikeKernel,
  bernoulliKernel,
  multinomialKernel,
];
