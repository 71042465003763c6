import { describe, expect, it } from 'vitest';
import { sizeOf, type TensorData } from '../src/dtype.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import type { PreparedKernel } from '../src/kernels/kernel.js';
import { WasmContext } from '../src/wasm/context.js';
import { RUNTIME_B_MIN_MACS } from '../src/kernels/nn/wasm-runtime-b.js';
import { MATH_KERNELS, type WasmMathKernels } from '../src/wasm/math-kernels.js';
import { SOFTMAX_SCALE_ATTR } from '../src/graph/passes/fuse-softmax-scale.js';
import { expectClose, Fs, makeNode, randomTensor, runKernel, tensor, type AttrValue } from './harness.js';
import { runKernelInWasm } from './wasm-harness.js';

// Gemm, MatMul (constant B) and tinfer.MatMulAdd on both backends against a naive float64 reference at
// rtol 1e-4: 'js' through the test harness (plain arrays), 'wasm' with every runtime input, output and scratch
// placed in the context's memory (as a session's arena is), and a count of the wasm driver's calls to show the
// wasm path really ran.

const wasmCtx = WasmContext.create();
const WASM_SKIP = 'WebAssembly SIMD is not available in this engine: wasm backend cases skipped';
if (wasmCtx === undefined) console.warn(WASM_SKIP);

/** Counts calls of the context's packed GEMM drivers (the kernels' uploads point at this very object). */
const driverCalls = { packedA: 0, packedB: 0 };
if (wasmCtx !== undefined) {
  const gemm = wasmCtx.kernels.gemm as { packedA: (...a: number[]) => void; packedB: (...a: number[]) => void };
  const [origA, origB] = [gemm.packedA, gemm.packedB];
  gemm.packedA = (...a: number[]) => { driverCalls.packedA++; origA(...a); };
  gemm.packedB = (...a: number[]) => { driverCalls.packedB++; origB(...a); };
  // Products with one or two rows run a 1×8 / 2×8 tile from its own module (src/kernels/nn/wasm-few-rows.ts).
  const realUse = wasmCtx.use.bind(wasmCtx);
  wasmCtx.use = ((spec) => {
    const k = realUse(spec) as { packedB?: (...a: number[]) => void } | undefined;
    const inner = k?.packedB;
    if (!spec.key.startsWith('f32_gemm_') || inner === undefined) return k;
    return { ...k, packedB: (...a: number[]) => { driverCalls.packedB++; inner(...a); } };
  }) as WasmContext['use'];
}

type Backend = 'js' | 'wasm';
const BACKENDS: Backend[] = ['js', 'wasm'];

/** Runs on one backend; for wasm also expects the packed-B driver to have run at least once. */
function runOn(backend: Backend, opType: string, inputs: TensorData[], attrs: Record<string, AttrValue>, constant: number[], domain = ''): TensorData {
  if (backend === 'js') return runKernel(opType, inputs, attrs, { constant, domain })[0]!;
  const before = driverCalls.packedB;
  const y = runKernelInWasm(wasmCtx!, opType, inputs, attrs, { constant, domain })[0]!;
  expect(driverCalls.packedB, 'the wasm GEMM driver ran').toBeGreaterThan(before);
  return y;
}

function itOn(backend: Backend, name: string, body: () => void): void {
  if (backend === 'wasm' && wasmCtx === undefined) it.skip(`${name} [wasm] (${WASM_SKIP})`, body);
  else it(`${name} [${backend}]`, body);
}

/** Naive op(A)·op(B) in float64 for one matrix: A [M,K] or [K,M], B [K,N] or [N,K]. */
function naive(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[aOff + (transA ? k * M + i : i * K + k)]! * b[transB ? j * K + k : k * N + j]!;
      y[i * N + j] = s;
    }
  }
  return y;
}

type Act = { attrs: Record<string, AttrValue>; f: (v: number) => number };
const ACTS: Record<string, Act> = {
  none: { attrs: {}, f: (v) => v },
  relu: { attrs: { 'tinfer.activation': 'relu' }, f: (v) => Math.max(0, v) },
  relu6: { attrs: { 'tinfer.activation': 'clip', 'tinfer.activation_params': new Fs([0, 6]) }, f: (v) => Math.min(6, Math.max(0, v)) },
  leakyrelu: { attrs: { 'tinfer.activation': 'leakyrelu', 'tinfer.activation_params': new Fs([0.1]) }, f: (v) => (v >= 0 ? v : 0.1 * v) },
  hardswish: { attrs: { 'tinfer.activation': 'hardswish', 'tinfer.activation_params': new Fs([1 / 6, 0.5]) }, f: (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)) },
  silu: { attrs: { 'tinfer.activation': 'silu' }, f: (v) => v / (1 + Math.exp(-v)) },
};

// Operands lie in [-1, 1]: over K = 300 the two backends sum in different orders (wasm with FMA when relaxed
// SIMD is there), and float32 rounding of such sums stays well inside atol 1e-5.
describe('Gemm with constant B on both backends vs a naive reference (rtol 1e-4)', () => {
  // M, N, K not multiples of either backend's tile; M = 1 (a single row) too.
  const sizes = [[5, 11, 13], [1, 9, 7], [37, 70, 300]] as const;
  const cShapes: ((number | 'M' | 'N')[] | undefined)[] = [undefined, ['N'], [1, 'N'], ['M', 'N'], ['M', 1], []];
  for (const backend of BACKENDS) {
    for (const [M, N, K] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          itOn(backend, `M ${M} N ${N} K ${K} transA ${transA} transB ${transB}, every C shape, alpha 1.5, beta 0.5, activations`, () => {
            const a = randomTensor(transA ? [K, M] : [M, K], M + K);
            const b = randomTensor(transB ? [N, K] : [K, N], N + K);
            const prod = naive(a.data as Float32Array, 0, b.data as Float32Array, M, N, K, transA, transB);
            for (const raw of cShapes) {
              const cShape = raw === undefined ? undefined : raw.map((d) => (d === 'N' ? N : d === 'M' ? M : d));
              const c = cShape === undefined ? undefined : randomTensor(cShape, 3, -4, 4);
              const rows = cShape !== undefined && cShape.length === 2 ? cShape[0]! : 1;
              const cols = cShape !== undefined && cShape.length >= 1 ? cShape[cShape.length - 1]! : 1;
              const cv = (i: number, j: number): number => (c === undefined ? 0 : c.data[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)] as number);
              for (const [actName, act] of Object.entries(ACTS)) {
                const want = tensor('float32', [M, N], Array.from(prod, (v, k) => act.f(1.5 * v + 0.5 * cv(Math.floor(k / N), k % N))));
                const attrs = { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: 1.5, beta: 0.5, ...act.attrs };
                const inputs = c === undefined ? [a, b] : [a, b, c];
                for (const constant of c === undefined ? [[1]] : [[1], [1, 2]]) {
                  try {
                    expectClose(runOn(backend, 'Gemm', inputs, attrs, constant), want, 1e-4, 1e-5);
                  } catch (e) {
                    throw new Error(`C [${cShape ?? 'none'}] ${actName} constants [${constant}]: ${(e as Error).message}`);
                  }
                }
              }
            }
          });
        }
      }
    }
  }
});

describe('MatMul with constant B on both backends vs a naive reference (rtol 1e-4)', () => {
  const cases: { a: number[]; b: number[] }[] = [
    { a: [7, 13], b: [13, 9] },
    { a: [2, 3, 5, 17], b: [17, 33] }, // batch folded into M
    { a: [70, 300], b: [300, 70] },
    { a: [13], b: [13, 6] }, // 1-D A
  ];
  for (const backend of BACKENDS) {
    for (const s of cases) {
      itOn(backend, `A [${s.a}] B [${s.b}] with every fused activation`, () => {
        const a = randomTensor(s.a, 11);
        const b = randomTensor(s.b, 12);
        const K = s.b[0]!;
        const N = s.b[1]!;
        const M = s.a.length === 1 ? 1 : s.a[s.a.length - 2]!;
        const batches = s.a.length <= 2 ? 1 : sizeOf(s.a.slice(0, -2));
        const ref = new Float64Array(batches * M * N);
        for (let t = 0; t < batches; t++) ref.set(naive(a.data as Float32Array, t * M * K, b.data as Float32Array, M, N, K), t * M * N);
        const outShape = [...s.a.slice(0, -1), N];
        for (const [actName, act] of Object.entries(ACTS)) {
          const want = tensor('float32', outShape, Array.from(ref, act.f));
          try {
            expectClose(runOn(backend, 'MatMul', [a, b], act.attrs, [1]), want, 1e-4, 1e-5);
          } catch (e) {
            throw new Error(`${actName}: ${(e as Error).message}`);
          }
        }
      });
    }
  }
});

describe('tinfer.MatMulAdd with constant B on both backends vs a naive reference (rtol 1e-4)', () => {
  for (const backend of BACKENDS) {
    for (const [rows, K, N] of [[6, 19, 10], [1, 5, 3], [129, 64, 40]] as const) {
      itOn(backend, `A [${rows}, ${K}] B [${K}, ${N}], bias constant or runtime, every fused activation`, () => {
        const a = randomTensor([rows, K], 21, -2, 2);
        const b = randomTensor([K, N], 22, -2, 2);
        const c = randomTensor([N], 23, -2, 2);
        const prod = naive(a.data as Float32Array, 0, b.data as Float32Array, rows, N, K);
        for (const [actName, act] of Object.entries(ACTS)) {
          const want = tensor('float32', [rows, N], Array.from(prod, (v, k) => act.f(v + (c.data[k % N] as number))));
          for (const constant of [[1], [1, 2]]) {
            try {
              expectClose(runOn(backend, 'MatMulAdd', [a, b, c], act.attrs, constant, 'tinfer'), want, 1e-4, 1e-5);
            } catch (e) {
              throw new Error(`${actName} constants [${constant}]: ${(e as Error).message}`);
            }
          }
        }
      });
    }
  }
});

describe('wasm weight uploads', () => {
  it.skipIf(wasmCtx === undefined)('re-preparing with the same weight tensor reuses its upload (memory does not grow per plan)', () => {
    const ctx = wasmCtx!;
    const b = randomTensor([64, 48], 31);
    const prepareFor = (rows: number): void => {
      const node = makeNode('MatMul', {}, 2);
      defaultRegistry.get(node).prepare({
        node, opset: 17, options: { wasm: ctx },
        inputs: [{ dtype: 'float32', shape: [rows, 64] }, { dtype: 'float32', shape: [64, 48] }],
        constants: [undefined, b],
      });
    };
    prepareFor(3);
    const after = ctx.allocatedBytes;
    for (let rows = 4; rows < 40; rows++) prepareFor(rows);
    expect(ctx.allocatedBytes).toBe(after);
    // A different weight tensor is a new upload.
    const node = makeNode('MatMul', {}, 2);
    defaultRegistry.get(node).prepare({
      node, opset: 17, options: { wasm: ctx },
      inputs: [{ dtype: 'float32', shape: [3, 64] }, { dtype: 'float32', shape: [64, 48] }],
      constants: [undefined, randomTensor([64, 48], 32)],
    });
    expect(ctx.allocatedBytes).toBeGreaterThan(after);
  });

  it.skipIf(wasmCtx === undefined)('the wasm variant declares placement wasm (the executor places its views; only a hand-made run falls back, counted)', () => {
    const a = randomTensor([9, 20], 41);
    const b = randomTensor([20, 12], 42);
    const k = prepareWith('MatMul', [a, b], [1]);
    expect([k.variant, k.placement, k.jsFallbacks]).toEqual(['f32_matmul_packedb__wasmsimd', 'wasm', { calls: 0 }]);
    const g = prepareWith('Gemm', [a, b], [1]);
    expect([g.variant, g.placement]).toEqual(['f32_gemm_packedb__wasmsimd', 'wasm']);
  });
});

/** Prepares a kernel with the wasm context and inputs `constant` known at prepare. */
function prepareWith(opType: string, inputs: TensorData[], constant: number[]): PreparedKernel {
  return defaultRegistry.get(makeNode(opType, {}, inputs.length)).prepare({
    node: makeNode(opType, {}, inputs.length),
    opset: 17,
    inputs: inputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })),
    constants: inputs.map((t, i) => (constant.includes(i) ? t : undefined)),
    options: { wasm: wasmCtx },
  });
}

// Runtime B (attention's Q·Kᵀ and A·V): B is an input, packed per batch matrix into wasm memory at run.
// Sizes are odd (1, 3, 9, 13, 65, 513, and 8³ exactly) and each product is at least RUNTIME_B_MIN_MACS multiply-adds, the size
// from which the wasm path is taken; a smaller one must stay on JS.
describe('MatMul with runtime B on both backends vs a naive reference (rtol 1e-4)', () => {
  const cases: { a: number[]; b: number[] }[] = [
    { a: [65, 65], b: [65, 65] },
    { a: [13, 13], b: [13, 65] },
    { a: [1, 2, 9, 32], b: [1, 2, 32, 9] }, // a short sequence's attention scores, two heads (9·9·32)
    { a: [2, 9, 9], b: [2, 9, 32] }, // and its weighted values
    { a: [8, 8], b: [8, 8] }, // exactly RUNTIME_B_MIN_MACS
    { a: [2, 3, 65, 65], b: [2, 3, 65, 65] }, // batched, one B per A
    { a: [2, 1, 65, 65], b: [1, 3, 65, 65] }, // broadcast both ways: B changes every step, A every third
    { a: [65, 65], b: [3, 65, 65] }, // one A against three B
    { a: [4, 13, 65], b: [65, 311] }, // shared runtime B: batch folded into M
    { a: [3, 6724], b: [6724, 13] }, // K over many K blocks, N = 13: a clipped last panel
    { a: [513], b: [2, 513, 513] }, // 1-D A: M = 1
    { a: [1, 65, 4100], b: [4100, 1] }, // N = 1
  ];
  /** Reference with numpy broadcasting of the batch dims, float64. */
  const reference = (a: TensorData, b: TensorData): { shape: number[]; data: Float64Array } => {
    const aS = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
    const bS = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
    const [M, K, N] = [aS[aS.length - 2]!, aS[aS.length - 1]!, bS[bS.length - 1]!];
    const rank = Math.max(aS.length, bS.length) - 2;
    const pad = (s: number[]): number[] => [...new Array<number>(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
    const [pa, pb] = [pad(aS), pad(bS)];
    const batch = pa.map((d, i) => Math.max(d, pb[i]!));
    const count = sizeOf(batch);
    const data = new Float64Array(count * M * N);
    for (let t = 0; t < count; t++) {
      let [ai, bi, rest] = [0, 0, t];
      const idx = batch.map(() => 0);
      for (let d = rank - 1; d >= 0; d--) { idx[d] = rest % batch[d]!; rest = Math.floor(rest / batch[d]!); }
      for (let d = 0; d < rank; d++) { ai = ai * pa[d]! + (pa[d] === 1 ? 0 : idx[d]!); bi = bi * pb[d]! + (pb[d] === 1 ? 0 : idx[d]!); }
      const bm = (b.data as Float32Array).subarray(bi * K * N, (bi + 1) * K * N);
      data.set(naive(a.data as Float32Array, ai * M * K, bm, M, N, K), t * M * N);
    }
    const shape = [...batch, ...(a.shape.length === 1 ? [] : [M]), ...(b.shape.length === 1 ? [] : [N])];
    return { shape, data };
  };
  for (const backend of BACKENDS) {
    for (const s of cases) {
      itOn(backend, `A [${s.a}] B [${s.b}]`, () => {
        const a = randomTensor(s.a, 51);
        const b = randomTensor(s.b, 52);
        const ref = reference(a, b);
        for (const actName of ['none', 'relu', 'silu']) {
          const act = ACTS[actName]!;
          const want = tensor('float32', ref.shape, Array.from(ref.data, act.f));
          try {
            expectClose(runOn(backend, 'MatMul', [a, b], act.attrs, []), want, 1e-4, 1e-5);
          } catch (e) {
            throw new Error(`${actName}: ${(e as Error).message}`);
          }
        }
      });
    }
  }

  it.skipIf(wasmCtx === undefined)('a product under RUNTIME_B_MIN_MACS multiply-adds stays on JS (same result)', () => {
    expect(3 * 13 * 5, 'M·N·K of each batch product').toBeLessThan(RUNTIME_B_MIN_MACS);
    const a = randomTensor([2, 3, 5], 61);
    const b = randomTensor([2, 5, 13], 62);
    const want = tensor('float32', [2, 3, 13], reference(a, b).data);
    const before = driverCalls.packedB;
    const y = runKernelInWasm(wasmCtx!, 'MatMul', [a, b], {})[0]!;
    expect(driverCalls.packedB).toBe(before);
    expectClose(y, want, 1e-4, 1e-5);
  });

  it.skipIf(wasmCtx === undefined)('runtime B is the f32_matmul_runtimeb__wasmsimd variant with placement wasm', () => {
    const k = prepareWith('MatMul', [randomTensor([65, 65], 63), randomTensor([65, 65], 64)], []);
    expect([k.variant, k.placement]).toEqual(['f32_matmul_runtimeb__wasmsimd', 'wasm']);
  });
});

// ---- transformer ops on the wasm 'math' family (softmax rows, LayerNorm rows, GELU/Erf/Sigmoid/Tanh) ----

/** Counts calls of the math family's kernels (the kernels read them from this very object at run). */
const mathCalls = { softmax: 0, layerNorm: 0, unary: 0, permute: 0 };
const mathKernels = wasmCtx?.use(MATH_KERNELS);
if (mathKernels !== undefined) {
  const k = mathKernels as { -readonly [K in keyof WasmMathKernels]: WasmMathKernels[K] };
  const [softmax, layerNorm] = [k.softmax, k.layerNorm];
  k.softmax = (...a) => { mathCalls.softmax++; softmax(...a); };
  k.layerNorm = (...a) => { mathCalls.layerNorm++; layerNorm(...a); };
  const [copyRows, transposePlane] = [k.copyRows, k.transposePlane];
  k.copyRows = (...a) => { mathCalls.permute++; copyRows(...a); };
  k.transposePlane = (...a) => { mathCalls.permute++; transposePlane(...a); };
  const unary = k.unary as Record<string, (x: number, y: number, n: number) => void>;
  for (const op of Object.keys(unary)) {
    const f = unary[op]!;
    unary[op] = (...a) => { mathCalls.unary++; f(...a); };
  }
}

/** Runs on one backend; for wasm also expects the named math kernel to have run. */
function runMathOn(backend: Backend, kernel: keyof typeof mathCalls, opType: string, inputs: TensorData[], attrs: Record<string, AttrValue>, constant: number[] = []): TensorData {
  if (backend === 'js') return runKernel(opType, inputs, attrs, { constant })[0]!;
  const before = mathCalls[kernel];
  const y = runKernelInWasm(wasmCtx!, opType, inputs, attrs, { constant })[0]!;
  expect(mathCalls[kernel], `the wasm ${kernel} kernel ran`).toBeGreaterThan(before);
  return y;
}

/** float64 softmax(scale·x) along the last axis. */
function naiveSoftmax(x: TensorData, scale = 1): TensorData {
  const n = x.shape[x.shape.length - 1]!;
  const d = x.data as Float32Array;
  const y = new Float32Array(d.length);
  for (let r = 0; r < d.length / n; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, scale * d[r * n + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(scale * d[r * n + i]! - m);
    for (let i = 0; i < n; i++) y[r * n + i] = Math.exp(scale * d[r * n + i]! - m) / s;
  }
  return tensor('float32', [...x.shape], y);
}

describe('Softmax (last axis) on both backends vs a float64 reference (rtol 1e-5, atol 1e-7)', () => {
  for (const backend of BACKENDS) {
    it.skipIf(backend === 'wasm' && wasmCtx === undefined)(`rows of 1, 3, 5, 197 with and without tinfer.softmax_scale (${backend})`, () => {
      for (const n of [1, 3, 5, 197]) {
        const x = randomTensor([2, 3, n], n, -6, 6);
        for (const scale of [undefined, 0.125, -1.5]) {
          const attrs: Record<string, AttrValue> = scale === undefined ? {} : { [SOFTMAX_SCALE_ATTR]: scale };
          const y = runMathOn(backend, 'softmax', 'Softmax', [x], attrs);
          expectClose(y, naiveSoftmax(x, scale ?? 1), 1e-5, 1e-7);
        }
      }
    });
  }
});

/** float64 LayerNorm over the last axis with gamma and beta of that length. */
function naiveLayerNorm(x: TensorData, gamma: TensorData, beta: TensorData, eps: number): TensorData {
  const n = x.shape[x.shape.length - 1]!;
  const d = x.data as Float32Array;
  const [g, b] = [gamma.data as Float32Array, beta.data as Float32Array];
  const y = new Float32Array(d.length);
  for (let r = 0; r < d.length / n; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += d[r * n + i]! / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (d[r * n + i]! - mean) ** 2 / n;
    for (let i = 0; i < n; i++) y[r * n + i] = ((d[r * n + i]! - mean) / Math.sqrt(v + eps)) * g[i % g.length]! + b[i % b.length]!;
  }
  return tensor('float32', [...x.shape], y);
}

describe('LayerNormalization (constant Scale, B) on both backends vs a float64 reference (rtol 1e-4, atol 1e-5)', () => {
  for (const backend of BACKENDS) {
    it.skipIf(backend === 'wasm' && wasmCtx === undefined)(`rows of 1, 3, 5, 197, 384 and a broadcast [1] Scale (${backend})`, () => {
      for (const n of [1, 3, 5, 197, 384]) {
        const x = randomTensor([3, n], n + 1, -3, 5);
        const gamma = randomTensor([n], n + 2, 0.5, 1.5);
        const beta = randomTensor([n], n + 3, -1, 1);
        const y = runMathOn(backend, 'layerNorm', 'LayerNormalization', [x, gamma, beta], { epsilon: 1e-5 }, [1, 2]);
        expectClose(y, naiveLayerNorm(x, gamma, beta, 1e-5), 1e-4, 1e-5);
      }
      const x = randomTensor([4, 6], 9, -3, 3);
      const gamma = tensor('float32', [1], [2]);
      const beta = tensor('float32', [6], [0, 1, 2, 3, 4, 5]);
      const y = runMathOn(backend, 'layerNorm', 'LayerNormalization', [x, gamma, beta], {}, [1, 2]);
      expectClose(y, naiveLayerNorm(x, gamma, beta, 1e-5), 1e-4, 1e-5);
    });
  }

  it.skipIf(wasmCtx === undefined)('runtime Scale stays on JS (same result)', () => {
    const x = randomTensor([3, 8], 1, -3, 3);
    const gamma = randomTensor([8], 2, 0.5, 1.5);
    const beta = randomTensor([8], 3, -1, 1);
    const before = mathCalls.layerNorm;
    const y = runKernelInWasm(wasmCtx!, 'LayerNormalization', [x, gamma, beta], {}, { constant: [2] })[0]!;
    expect(mathCalls.layerNorm).toBe(before);
    expectClose(y, naiveLayerNorm(x, gamma, beta, 1e-5), 1e-4, 1e-5);
  });
});

describe('Gelu, Erf, Sigmoid, Tanh on both backends vs float64 references', () => {
  const cases: Array<[string, Record<string, AttrValue>, (v: number) => number, number, number]> = [
    // [op, attributes, reference, rtol, atol]
    ['Gelu', {}, (v) => 0.5 * v * (1 + erfReference(v / Math.SQRT2)), 1e-5, 1e-6],
    ['Gelu', { approximate: 'tanh' }, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))), 1e-5, 1e-6],
    ['Erf', {}, erfReference, 1e-5, 1e-6],
    ['Sigmoid', {}, (v) => 1 / (1 + Math.exp(-v)), 1e-5, 1e-7],
    ['Tanh', {}, Math.tanh, 1e-5, 1e-7],
  ];
  for (const backend of BACKENDS) {
    for (const [op, attrs, ref, rtol, atol] of cases) {
      it.skipIf(backend === 'wasm' && wasmCtx === undefined)(`${op} ${JSON.stringify(attrs)} on lengths 1, 3, 5, 197 (${backend}, rtol ${rtol}, atol ${atol})`, () => {
        for (const n of [1, 3, 5, 197]) {
          const x = randomTensor([n], n * 3, -7, 7);
          const y = runMathOn(backend, 'unary', op, [x], attrs);
          expectClose(y, tensor('float32', [n], Float32Array.from(x.data as Float32Array, ref)), rtol, atol);
        }
      });
    }
  }
});

/** erf by its Maclaurin series (A&S 7.1.5) for |v| < 2.5, else 1 − erfc by Laplace's continued fraction (A&S 7.1.14). */
function erfReference(v: number): number {
  const a = Math.abs(v);
  if (a >= 2.5) {
    let k = a;
    for (let n = 300; n >= 1; n--) k = a + n / 2 / k;
    return Math.sign(v) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * k));
  }
  let term = v;
  let sum = v;
  for (let n = 1; n < 200; n++) {
    term *= (-v * v) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** out[idx] = in[idx permuted back], by unravelling every output index. */
function naiveTranspose(x: TensorData, perm: number[]): TensorData {
  const shape = perm.map((p) => x.shape[p]!);
  const inStrides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.data.length);
  for (let t = 0; t < out.length; t++) {
    let rest = t;
    let src = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      src += (rest % shape[d]!) * inStrides[perm[d]!]!;
      rest = Math.floor(rest / shape[d]!);
    }
    out[t] = (x.data as Float32Array)[src]!;
  }
  return tensor('float32', shape, out);
}

describe('Transpose (attention permutes) on both backends vs a naive index map, exactly', () => {
  const cases: Array<[number[], number[]]> = [
    [[1, 5, 3, 3, 7], [2, 0, 3, 1, 4]],
    [[1, 5, 3, 7], [0, 2, 1, 3]],
    [[1, 3, 5, 7], [0, 1, 3, 2]],
    [[1, 6, 13], [0, 2, 1]],
    [[9, 4, 5], [1, 2, 0]],
    [[2, 3, 4, 5], [3, 1, 0, 2]],
  ];
  for (const backend of BACKENDS) {
    it.skipIf(backend === 'wasm' && wasmCtx === undefined)(`every case (${backend})`, () => {
      for (const [shape, perm] of cases) {
        const x = randomTensor(shape, shape.length * 7 + perm[0]!, -5, 5);
        const layoutFits = !(shape.length === 4 && perm[0] === 3);
        const y = layoutFits ? runMathOn(backend, 'permute', 'Transpose', [x], { perm }) : backend === 'js'
          ? runKernel('Transpose', [x], { perm })[0]!
          : runKernelInWasm(wasmCtx!, 'Transpose', [x], { perm })[0]!;
        expectClose(y, naiveTranspose(x, perm), 0, 0);
      }
    });
  }
});
