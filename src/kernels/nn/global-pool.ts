import type { DType, NumericArray } from '../../dtype.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import {
  chooseVariant, jsFallbacks, kernelError, ranOnWasm, requireInput, type KernelDef, type PrepareContext, type PreparedKernel,
  type VariantDef,
} from '../kernel.js';
import type { WasmContext } from '../../wasm/context.js';
import { GENERIC_POOL_MODULE } from '../../wasm/pool-kernels.js';
import { readP } from './pool.js';
import { ROW_MEAN_MODULE } from '../../wasm/reduce-kernels.js';

type GlobalReducer = 'avg' | 'max' | 'lp';

/** The mean of each plane, four running sums per plane (a monomorphic loop for the CNN case). X [P, S] -> Y [P] */
function averagePlanes(planes: number, size: number, x: Float32Array, y: Float32Array): void {
  const size4 = size & ~3;
  for (let c = 0; c < planes; c++) {
    const base = c * size;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = 0;
    for (; i < size4; i += 4) {
      s0 += x[base + i]!;
      s1 += x[base + i + 1]!;
      s2 += x[base + i + 2]!;
      s3 += x[base + i + 3]!;
    }
    for (; i < size; i++) s0 += x[base + i]!;
    y[c] = (s0 + s1 + (s2 + s3)) / size;
  }
}

/** Reduces each plane to one value: mean, max, or (Σ|x|^p)^(1/p). X [P, S] -> Y [P] */
function reducePlanes(reducer: GlobalReducer, p: number, planes: number, size: number, x: NumericArray, y: NumericArray): void {
  for (let c = 0; c < planes; c++) {
    const base = c * size;
    let acc = reducer === 'max' ? -Infinity : 0;
    for (let i = 0; i < size; i++) {
      const v = x[base + i]!;
      if (reducer === 'max') acc = v > acc || Number.isNaN(v) ? v : acc;
      else if (reducer === 'lp') acc += Math.pow(Math.abs(v), p);
      else acc += v;
    }
    if (reducer === 'avg') acc /= size;
    else if (reducer === 'lp') acc = Math.pow(acc, 1 / p);
    y[c] = acc;
  }
}

/** A global pool: planes × size values reduced per plane. X [N, C, D1..Dn] -> Y [N, C, 1..1] */
interface GlobalPoolCase {
  opType: string;
  reducer: GlobalReducer;
  dtype: DType;
  p: number;
  planes: number;
  size: number;
  outShape: number[];
}

const prefixOf = (dtype: DType) => (dtype === 'float32' ? 'f32' : dtype === 'float16' ? 'f16' : dtype === 'float64' ? 'f64' : dtype);

/**
 * A wasm global pool: `call(x, y)` on views of wasm memory; a call whose views lie elsewhere (never in a wasm
 * plan) runs `fallback`, counted in jsFallbacks.
 */
function wasmGlobal(c: GlobalPoolCase, wasm: WasmContext, detail: string, call: (x: Float32Array, y: Float32Array) => void, fallback: (x: Float32Array, y: Float32Array) => void): PreparedKernel {
  const fallbacks = jsFallbacks();
  return {
    outputs: [{ dtype: c.dtype, shape: c.outShape }],
    detail,
    jsFallbacks: fallbacks,
    run(inputs, outs) {
      const [xs, ys] = [inputs[0] as Float32Array, outs[0] as Float32Array];
      if (ranOnWasm(fallbacks, xs.buffer === wasm.memory.buffer && ys.buffer === xs.buffer)) call(xs, ys);
      else fallback(xs, ys);
    },
  };
}

/**
 * GlobalAveragePool, GlobalMaxPool and GlobalLpPool share one table, reference first:
 *   {dt}_global{op}pool__ref            reducePlanes (float64 accumulation)
 *   f32_globalaveragepool__js           four running sums per plane
 *   f32_globalaveragepool__wasmsimd     the row-mean kernel (reduce-kernels.ts)
 *   f32_globalmaxpool__wasmsimd         the row-max kernel (pool-kernels.ts)
 */
export const GLOBAL_POOL_VARIANTS: readonly VariantDef<GlobalPoolCase>[] = [
  {
    name: (c) => `${prefixOf(c.dtype)}_${c.opType.toLowerCase()}__ref`,
    applies: () => true,
    placement: 'any',
    prepare: (c) => ({
      outputs: [{ dtype: c.dtype, shape: c.outShape }],
      detail: `js global ${c.reducer} pool`,
      run: (inputs, outs) => reducePlanes(c.reducer, c.p, c.planes, c.size, inputs[0] as NumericArray, outs[0] as NumericArray),
    }),
  },
  {
    name: 'f32_globalaveragepool__js',
    applies: (c) => c.reducer === 'avg' && c.dtype === 'float32',
    placement: 'any',
    prepare: (c) => ({
      outputs: [{ dtype: c.dtype, shape: c.outShape }],
      detail: 'js row mean',
      run: (inputs, outs) => averagePlanes(c.planes, c.size, inputs[0] as Float32Array, outs[0] as Float32Array),
    }),
  },
  {
    name: 'f32_globalaveragepool__wasmsimd',
    applies: (c, caps) => c.reducer === 'avg' && c.dtype === 'float32' && caps.wasm?.use(ROW_MEAN_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (c, ctx) => {
      const rowMean = ctx.options.wasm!.use(ROW_MEAN_MODULE)!;
      return wasmGlobal(c, ctx.options.wasm!, 'wasm row mean', (x, y) => rowMean(x.byteOffset, c.planes, c.size, y.byteOffset, 1 / c.size), (x, y) => averagePlanes(c.planes, c.size, x, y));
    },
  },
  {
    name: 'f32_globalmaxpool__wasmsimd',
    applies: (c, caps) => c.reducer === 'max' && c.dtype === 'float32' && c.size > 0 && caps.wasm?.use(GENERIC_POOL_MODULE) !== undefined,
    placement: 'wasm',
    prepare: (c, ctx) => {
      const { rowMax } = ctx.options.wasm!.use(GENERIC_POOL_MODULE)!;
      return wasmGlobal(c, ctx.options.wasm!, 'wasm row max', (x, y) => rowMax(x.byteOffset, c.planes, c.size, y.byteOffset), (x, y) => reducePlanes('max', 0, c.planes, c.size, x, y));
    },
  },
];

// Global{Average,Max,Lp}Pool: X [N, C, D1..Dn] -> Y [N, C, 1..1]
function globalPool(opType: string, reducer: GlobalReducer): KernelDef {
  return {
    opType,
    prepare(ctx: PrepareContext): PreparedKernel {
      const x = requireInput(ctx, 0);
      if (x.dtype !== 'float32' && x.dtype !== 'float16' && x.dtype !== 'bfloat16' && x.dtype !== 'float64') {
        throw new UnsupportedError(`${nodeLabel(ctx.node)}: dtype ${x.dtype} is not supported`);
      }
      if (x.shape.length < 2) throw kernelError(ctx, `X must have rank >= 2, got [${x.shape}]`);
      const c: GlobalPoolCase = {
        opType,
        reducer,
        dtype: x.dtype,
        p: reducer === 'lp' ? readP(ctx) : 0,
        planes: x.shape[0]! * x.shape[1]!,
        size: x.shape.slice(2).reduce((a, b) => a * b, 1),
        outShape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)],
      };
      return chooseVariant(GLOBAL_POOL_VARIANTS, c, ctx);
    },
  };
}

export const globalPoolKernels: KernelDef[] = [
  globalPool('GlobalAveragePool', 'avg'),
  globalPool('GlobalMaxPool', 'max'),
  globalPool('GlobalLpPool', 'lp'),
];
