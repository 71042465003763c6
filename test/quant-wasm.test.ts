/**
 * The wasm SIMD int8 GEMM (src/wasm/int8-kernels.ts) and the QLinearConv / QLinearMatMul / QGemm paths built on
 * it, bit for bit against naive references written here and against the JS kernels (backend 'js'), over odd
 * shapes that defeat the 4×8 tiling and the k pairs, uint8 / int8 operands, per-tensor and per-channel zero points.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DYNAMIC_INT8_KERNELS } from '../src/kernels/quant/dynamic-int8.wasm.js';
import { allocData, sizeOf, type Data, type TensorData } from '../src/dtype.js';
import type { PrepareContext } from '../src/kernels/kernel.js';
import { colPanelBytes, kPairs, narrowColBytes, packColPairs, packRowPairs, rowPanelBytes, wasmInt16Array } from '../src/kernels/quant/igemm-wasm.js';
import type { Int8Like } from '../src/kernels/quant/igemm.js';
import { requantize } from '../src/kernels/quant/rounding.js';
import { defaultRegistry } from '../src/kernels/registry.js';
import { WasmContext } from '../src/wasm/context.js';
import { INT8_KERNELS, type Int8Kernels } from '../src/wasm/int8-kernels.js';
import { makeNode, rng, type AttrValue } from './harness.js';

const f = Math.fround;
let wasm: WasmContext;
let kernels: Int8Kernels;
/** Calls of the wasm GEMM / depthwise kernels since the last reset: proves an operator test really ran on wasm. */
let gemmCalls = 0;

beforeAll(() => {
  const ctx = WasmContext.create();
  if (ctx === undefined) throw new Error('this engine lacks WebAssembly SIMD');
  wasm = ctx;
  const k = ctx.use(INT8_KERNELS);
  if (k === undefined) throw new Error('the int8 module did not compile');
  kernels = k;
  // Count calls through the shared bound object (the operators read it on every run).
  const { gemmRowChannels, gemmRowChannelsRowsOuter, gemmColChannels, gemmColChannelsF32, gemvRowChannels, depthwise, add, mul, quantize, requantize: requantizeBytes } = k;
  Object.assign(k, {
    requantize: (...a: Parameters<typeof requantizeBytes>) => { gemmCalls++; requantizeBytes(...a); },
    quantize: (...a: Parameters<typeof quantize>) => { gemmCalls++; quantize(...a); },
    gemmRowChannelsRowsOuter: (...a: Parameters<typeof gemmRowChannelsRowsOuter>) => { gemmCalls++; gemmRowChannelsRowsOuter(...a); },
    gemmColChannelsF32: (...a: Parameters<typeof gemmColChannelsF32>) => { gemmCalls++; gemmColChannelsF32(...a); },
    add: (...a: Parameters<typeof add>) => { gemmCalls++; add(...a); },
    mul: (...a: Parameters<typeof mul>) => { gemmCalls++; mul(...a); },
    gemmRowChannels: (...a: Parameters<typeof gemmRowChannels>) => { gemmCalls++; gemmRowChannels(...a); },
    gemmColChannels: (...a: Parameters<typeof gemmColChannels>) => { gemmCalls++; gemmColChannels(...a); },
    gemvRowChannels: (...a: Parameters<typeof gemvRowChannels>) => { gemmCalls++; gemvRowChannels(...a); },
    depthwise: Object.fromEntries(Object.entries(depthwise).map(([key, fn]) => [key, (...a: Parameters<typeof fn>) => { gemmCalls++; fn(...a); }])),
    depthwiseDot: Object.fromEntries(Object.entries(k.depthwiseDot).map(([key, fn]) => [key, (...a: Parameters<typeof fn>) => { gemmCalls++; fn(...a); }])),
    addPlanes: k.addPlanes.map((fn) => (...a: Parameters<typeof fn>) => { gemmCalls++; fn(...a); }),
    mulPlanes: k.mulPlanes.map((fn) => (...a: Parameters<typeof fn>) => { gemmCalls++; fn(...a); }),
  });
  // QuantizeLinear runs on the dynamic-int8 module's per-axis quantizer.
  const d = ctx.use(DYNAMIC_INT8_KERNELS);
  if (d === undefined) throw new Error('the dynamic int8 module did not compile');
  const quantizeAxis = d.quantize;
  Object.assign(d, { quantize: (...a: Parameters<typeof quantizeAxis>) => { gemmCalls++; quantizeAxis(...a); } });
});

function random8(n: number, signed: boolean, seed: number): Int8Like {
  const r = rng(seed);
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256) - (signed ? 128 : 0);
  return out;
}

describe('qs8_gemm 4x8c2 (wasm SIMD), both loop orders', () => {
  const shapes: [number, number, number][] = [
    [1, 8, 1], [3, 9, 5], [4, 8, 2], [5, 17, 3], [17, 67, 67], [7, 13, 128], [2, 40, 1001],
  ];
  for (const [M, N, K] of shapes) {
    for (const [aSigned, bSigned] of [[true, false], [false, true], [true, true], [false, false]] as const) {
      it(`requantizes Σ (a - za)(b - zb) + bias exactly for ${M}×${N}×${K}, a ${aSigned ? 'int8' : 'uint8'}, b ${bSigned ? 'int8' : 'uint8'}`, () => {
        const A = random8(M * K, aSigned, M * 31 + K);
        const B = random8(K * N, bSigned, N * 7 + K);
        const za = Array.from({ length: M }, (_, m) => (aSigned ? -3 + m : 120 + m) % 256);
        const zb = aSigned ? 11 : bSigned ? -7 : 130;
        const bias = Array.from({ length: M }, (_, m) => m * 1000 - 2500);
        // Row 0's multiplier 0.5 makes every odd sum a tie: round half to even must match exactly.
        const mult = Array.from({ length: M }, (_, m) => (m === 0 ? 0.5 : f(1 / (K * 60 + m * 13))));
        const [zp, lo, hi] = bSigned ? [3, -128, 127] : [100, 0, 255];
        const aPanels = new Int16Array(rowPanelBytes(M, K) / 2);
        packRowPairs(M, K, A, 0, K, za, 1, aPanels, 0);
        const aOff = wasm.alloc(aPanels.byteLength);
        const bOff = wasm.alloc(K * N);
        const pOff = wasm.alloc(colPanelBytes(K, N));
        const yOff = wasm.alloc(M * (N + 3));
        const qOff = wasm.alloc(8 * M);
        try {
          const mem = wasm.memory.buffer;
          new Int16Array(mem, aOff, aPanels.length).set(aPanels);
          new Uint8Array(mem, bOff, K * N).set(new Uint8Array(B.buffer));
          new Int32Array(mem, qOff, M).set(bias);
          new Float32Array(mem, qOff + 4 * M, M).set(mult);
          const y = new Uint8Array(mem, yOff, M * (N + 3)).fill(0xee);
          kernels.packCols(bOff, N, K, N, bSigned ? 0 : 0x80, bSigned ? zb : zb - 128, pOff);
          for (const gemm of [kernels.gemmRowChannels, kernels.gemmRowChannelsRowsOuter]) {
            y.fill(0xee);
            gemm(M, N, kPairs(K), aOff, pOff, yOff, N + 3, qOff, qOff + 4 * M, zp, lo, hi);
            const got = bSigned ? new Int8Array(y.buffer, yOff, y.length) : y;
            for (let m = 0; m < M; m++) {
              for (let n = 0; n < N; n++) {
                let acc = 0;
                for (let k = 0; k < K; k++) acc += (A[m * K + k]! - za[m]!) * (B[k * N + n]! - zb);
                expect(got[m * (N + 3) + n], `y[${m}, ${n}]`).toBe(requantize(acc + bias[m]!, mult[m]!, zp, lo, hi));
              }
              for (let n = N; n < N + 3; n++) expect(y[m * (N + 3) + n], 'nothing written past the row').toBe(0xee);
            }
          }
        } finally {
          for (const o of [aOff, bOff, pOff, yOff, qOff]) wasm.free(o);
        }
      });
    }
  }

  it('packs B panels in wasm exactly as packColPairs does in JS (odd K, overlapping last block)', () => {
    const [K, N] = [7, 19];
    for (const signed of [false, true]) {
      const B = random8(K * N, signed, 5);
      const zb = signed ? -20 : 200;
      const expected = new Int16Array(colPanelBytes(K, N) / 2);
      packColPairs(K, N, B, 0, N, 1, [zb], 0, expected, 0);
      const bOff = wasm.alloc(K * N);
      const pOff = wasm.alloc(expected.byteLength);
      try {
        new Uint8Array(wasm.memory.buffer, bOff, K * N).set(new Uint8Array(B.buffer));
        kernels.packCols(bOff, N, K, N, signed ? 0 : 0x80, signed ? zb : zb - 128, pOff);
        const got = new Int16Array(wasm.memory.buffer, pOff, expected.length);
        // The padding pair of an odd K repeats the last row in wasm and is 0 in JS: both meet zero weights.
        for (let i = 0; i < expected.length; i++) {
          const j = Math.floor(i / 16) % kPairs(K);
          const padding = K % 2 === 1 && j === kPairs(K) - 1 && i % 2 === 1;
          if (!padding) expect(got[i], `panel int16 ${i}`).toBe(expected[i]);
        }
      } finally {
        wasm.free(bOff);
        wasm.free(pOff);
      }
    }
  });
});

describe('qs8_gemv 4x1c2 (wasm SIMD): under 8 columns', () => {
  // M not a multiple of 4, K odd / 1 / a multiple of the 2-pair unroll, N from 1 to 7.
  const shapes: [number, number, number][] = [[1, 1, 1], [3, 1, 13], [4, 2, 2], [5, 3, 3], [13, 7, 64], [67, 1, 100], [9, 5, 1001]];
  for (const [M, N, K] of shapes) {
    for (const [aSigned, bSigned] of [[true, false], [false, true], [false, false]] as const) {
      it(`q8 / i32 / f32affine stores of Σ (a - za)(b - zb) exactly for ${M}×${N}×${K}, a ${aSigned ? 'int8' : 'uint8'}, b ${bSigned ? 'int8' : 'uint8'}`, () => {
        const A = random8(M * K, aSigned, M * 17 + K);
        const B = random8(K * N, bSigned, N * 5 + K);
        const za = Array.from({ length: M }, (_, m) => (aSigned ? -3 + m : 120 + m) % 256);
        const zb = bSigned ? -7 : 130;
        const bias = Array.from({ length: M }, (_, m) => m * 1000 - 2500);
        const fbias = Float32Array.from({ length: M }, (_, m) => f(m * 0.37 - 1.1));
        const mult = Float32Array.from({ length: M }, (_, m) => (m === 0 ? 0.5 : f(1 / (K * 60 + m * 13))));
        const [zp, lo, hi] = aSigned ? [3, -128, 127] : [100, 0, 255];
        const aPanels = new Int16Array(rowPanelBytes(M, K) / 2);
        packRowPairs(M, K, A, 0, K, za, 1, aPanels, 0);
        const ldy = N + 3;
        const aOff = wasm.alloc(aPanels.byteLength);
        const bOff = wasm.alloc(K * N);
        const pOff = wasm.alloc(narrowColBytes(K, N));
        const yOff = wasm.alloc(4 * M * ldy);
        const qOff = wasm.alloc(8 * M);
        const fOff = wasm.alloc(8 * M);
        try {
          const mem = wasm.memory.buffer;
          new Int16Array(mem, aOff, aPanels.length).set(aPanels);
          new Uint8Array(mem, bOff, K * N).set(new Uint8Array(B.buffer));
          new Int32Array(mem, qOff, M).set(bias);
          new Float32Array(mem, qOff + 4 * M, M).set(mult);
          new Float32Array(mem, fOff, M).set(fbias);
          new Float32Array(mem, fOff + 4 * M, M).set(mult);
          kernels.packColsNarrow(bOff, N, K, N, bSigned ? 0 : 0x80, bSigned ? zb : zb - 128, pOff);
          const exact = (m: number, n: number) => {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += (A[m * K + k]! - za[m]!) * (B[k * N + n]! - zb);
            return acc;
          };
          const bytes = new Uint8Array(mem, yOff, M * ldy).fill(0xee);
          kernels.gemvRowChannels(M, N, kPairs(K), aOff, pOff, yOff, ldy, qOff, qOff + 4 * M, zp, lo, hi);
          const q8 = aSigned ? new Int8Array(mem, yOff, M * ldy) : bytes;
          const ints = new Int32Array(mem, yOff, M * ldy);
          const floatsOut = new Float32Array(mem, yOff, M * ldy);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) expect(q8[m * ldy + n], `q8 y[${m}, ${n}]`).toBe(requantize(exact(m, n) + bias[m]!, mult[m]!, zp, lo, hi));
            for (let n = N; n < ldy; n++) expect(bytes[m * ldy + n], 'nothing written past the row').toBe(0xee);
          }
          ints.fill(-1);
          kernels.gemvI32(M, N, kPairs(K), aOff, pOff, yOff, ldy, 0, 0, 0, 0, 0);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) expect(ints[m * ldy + n], `i32 y[${m}, ${n}]`).toBe(exact(m, n));
            for (let n = N; n < ldy; n++) expect(ints[m * ldy + n]).toBe(-1);
          }
          // f32(f32(f32(acc)·mult) + bias) clamped to [-3, 3] (a fused Clip).
          kernels.gemvAffineRows(M, N, kPairs(K), aOff, pOff, yOff, ldy, fOff, fOff + 4 * M, 0, -3, 3);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              const want = Math.min(Math.max(f(f(f(exact(m, n)) * mult[m]!) + fbias[m]!), -3), 3);
              expect(floatsOut[m * ldy + n], `f32 y[${m}, ${n}]`).toBe(want);
            }
          }
        } finally {
          for (const o of [aOff, bOff, pOff, yOff, qOff, fOff]) wasm.free(o);
        }
      });
    }
  }
});

/** Prepares `opType` and runs it with runtime inputs/outputs as views of wasm memory (backend 'wasm') or plain arrays ('js'). */
function runOp(
  backend: 'wasm' | 'js', opType: string, domain: string, inputs: (TensorData | undefined)[], constant: number[], attrs: Record<string, AttrValue>,
): TensorData {
  const node = makeNode(opType, attrs, inputs.length, 1, domain);
  node.inputs.forEach((_, i) => { if (inputs[i] === undefined) (node.inputs as string[])[i] = ''; });
  const ctx: PrepareContext = {
    node,
    opset: domain === '' ? 13 : 1,
    inputs: inputs.map((t) => t && { dtype: t.dtype, shape: [...t.shape] }),
    constants: inputs.map((t, i) => (constant.includes(i) ? t : undefined)),
    options: backend === 'wasm' ? { wasm } : {},
  };
  const prepared = defaultRegistry.get(node).prepare(ctx);
  const out = prepared.outputs[0]!;
  const runtime = inputs.map((t, i) => (t !== undefined && !constant.includes(i) ? t : undefined));
  const scratch = (prepared.scratch ?? []).map((s) => allocData(s.dtype, s.length));
  if (backend === 'js') {
    const y = allocData(out.dtype, sizeOf(out.shape));
    prepared.run(inputs.map((t) => t?.data), [y], scratch);
    return { dtype: out.dtype, shape: out.shape, data: y };
  }
  // Allocate everything first: an allocation may grow the memory and detach earlier views.
  const offsets = runtime.map((t) => (t === undefined ? 0 : wasm.alloc(t.data.byteLength)));
  const yOff = wasm.alloc(sizeOf(out.shape) * 4);
  try {
    const views = runtime.map((t, i) => {
      if (t === undefined) return inputs[i]?.data;
      const v = allocView(t, offsets[i]!);
      (v as Uint8Array).set(t.data as Uint8Array);
      return v;
    });
    const y = allocView({ dtype: out.dtype, shape: out.shape, data: allocData(out.dtype, 0) }, yOff, sizeOf(out.shape));
    prepared.run(views, [y], scratch);
    return { dtype: out.dtype, shape: out.shape, data: (y as Uint8Array).slice() };
  } finally {
    offsets.forEach((o) => o !== 0 && wasm.free(o));
    wasm.free(yOff);
  }
}

function allocView(t: TensorData, offset: number, length = t.data.length): Data {
  const ctor = t.data.constructor as new (b: ArrayBufferLike, o: number, n: number) => Data;
  return new ctor(wasm.memory.buffer, offset, length);
}

function scalar(dtype: 'float32' | 'uint8' | 'int8', v: number): TensorData {
  const data = allocData(dtype, 1);
  data[0] = v;
  return { dtype, shape: [], data };
}
function t8(signed: boolean, shape: number[], seed: number): TensorData {
  return { dtype: signed ? 'int8' : 'uint8', shape, data: random8(sizeOf(shape), signed, seed) };
}

interface ConvCase {
  C: number; M: number; H: number; W: number; k: number; stride: number; pad: number; group: number;
  xSigned: boolean; wSigned: boolean; perChannel: boolean; bias: boolean; batch?: number; clamp?: [number, number]; dil?: number;
  /** No wasm path applies (the JS kernel runs on the wasm-memory views). */
  jsOnly?: boolean;
}

/** QLinearConv by definition: acc in exact integers, then requantize(acc + B[m], x_s·w_s[m]/y_s in f32 steps). */
function naiveQLinearConv(c: ConvCase, x: Int8Like, xz: number, w: Int8Like, ws: Float32Array, wz: Int8Like, ys: number, yz: number, B: Int32Array | undefined, lo: number, hi: number, xs: number): number[] {
  const N = c.batch ?? 1;
  const d = c.dil ?? 1;
  const span = (c.k - 1) * d + 1;
  const OH = Math.floor((c.H + 2 * c.pad - span) / c.stride) + 1;
  const OW = Math.floor((c.W + 2 * c.pad - span) / c.stride) + 1;
  const Cg = c.C / c.group;
  const Mg = c.M / c.group;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < c.M; m++) {
      const g = Math.floor(m / Mg);
      const zw = wz[wz.length === 1 ? 0 : m]!;
      const mult = f(f(xs * ws[ws.length === 1 ? 0 : m]!) / ys);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = B === undefined ? 0 : B[m]!;
          for (let ci = 0; ci < Cg; ci++) {
            for (let kh = 0; kh < c.k; kh++) {
              for (let kw = 0; kw < c.k; kw++) {
                const ih = oh * c.stride - c.pad + kh * d;
                const iw = ow * c.stride - c.pad + kw * d;
                if (ih < 0 || iw < 0 || ih >= c.H || iw >= c.W) continue;
                const xv = x[((n * c.C + g * Cg + ci) * c.H + ih) * c.W + iw]!;
                acc += (xv - xz) * (w[((m * Cg + ci) * c.k + kh) * c.k + kw]! - zw);
              }
            }
          }
          out.push(requantize(acc, mult, yz, lo, hi));
        }
      }
    }
  }
  return out;
}

describe('QLinearConv on the wasm int8 GEMM', () => {
  const cases: ConvCase[] = [
    { C: 5, M: 3, H: 4, W: 5, k: 1, stride: 1, pad: 0, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true },
    { C: 3, M: 5, H: 7, W: 6, k: 3, stride: 1, pad: 1, group: 1, xSigned: false, wSigned: true, perChannel: false, bias: false },
    { C: 17, M: 9, H: 9, W: 9, k: 3, stride: 2, pad: 1, group: 1, xSigned: true, wSigned: true, perChannel: true, bias: true, batch: 2 },
    { C: 8, M: 6, H: 6, W: 7, k: 3, stride: 1, pad: 0, group: 2, xSigned: false, wSigned: false, perChannel: true, bias: true },
    { C: 16, M: 67, H: 3, W: 3, k: 1, stride: 1, pad: 0, group: 1, xSigned: false, wSigned: true, perChannel: false, bias: true },
    { C: 7, M: 4, H: 5, W: 5, k: 5, stride: 1, pad: 2, group: 1, xSigned: true, wSigned: false, perChannel: false, bias: true, clamp: [-20, 90] },
    { C: 6, M: 8, H: 9, W: 10, k: 3, stride: 1, pad: 2, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true, dil: 2 },
    { C: 4, M: 8, H: 11, W: 9, k: 3, stride: 2, pad: 0, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true, dil: 2 },
    // Rows of 8 or more outputs: zero-point-padded planes and im2col on wasm (stride 1 and 2).
    { C: 3, M: 16, H: 20, W: 23, k: 3, stride: 2, pad: 1, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true },
    { C: 3, M: 8, H: 19, W: 21, k: 7, stride: 2, pad: 3, group: 1, xSigned: true, wSigned: true, perChannel: true, bias: true, batch: 2 },
    { C: 5, M: 6, H: 10, W: 12, k: 3, stride: 1, pad: 0, group: 1, xSigned: false, wSigned: false, perChannel: false, bias: true },
    { C: 4, M: 6, H: 9, W: 16, k: 3, stride: 1, pad: 1, group: 2, xSigned: false, wSigned: true, perChannel: true, bias: false },
    // Depthwise: interiors on the wasm kernels (eight or, 4 to 7 wide, four outputs per step, the last step shifted), borders in JS.
    { C: 5, M: 5, H: 9, W: 11, k: 3, stride: 1, pad: 1, group: 5, xSigned: false, wSigned: true, perChannel: true, bias: true, batch: 2 },
    { C: 3, M: 3, H: 12, W: 13, k: 3, stride: 2, pad: 1, group: 3, xSigned: true, wSigned: true, perChannel: false, bias: true },
    { C: 4, M: 4, H: 10, W: 14, k: 5, stride: 1, pad: 2, group: 4, xSigned: false, wSigned: false, perChannel: true, bias: false },
    { C: 2, M: 2, H: 15, W: 17, k: 5, stride: 2, pad: 2, group: 2, xSigned: false, wSigned: true, perChannel: true, bias: true, clamp: [0, 200] },
    { C: 3, M: 3, H: 9, W: 40, k: 3, stride: 2, pad: 1, group: 3, xSigned: false, wSigned: true, perChannel: true, bias: true },
    { C: 2, M: 2, H: 11, W: 41, k: 5, stride: 2, pad: 2, group: 2, xSigned: true, wSigned: true, perChannel: false, bias: true },
    // Rows narrower than 8 bytes: padded 4 bytes at a time (under 4: in JS), then the 4-wide kernel; under 4 outputs
    // per row, the JS kernel.
    { C: 2, M: 2, H: 5, W: 3, k: 3, stride: 1, pad: 2, group: 2, xSigned: true, wSigned: true, perChannel: true, bias: true },
    { C: 3, M: 3, H: 6, W: 7, k: 3, stride: 1, pad: 1, group: 3, xSigned: false, wSigned: true, perChannel: true, bias: true },
    { C: 9, M: 9, H: 7, W: 7, k: 3, stride: 1, pad: 1, group: 9, xSigned: false, wSigned: true, perChannel: true, bias: true, batch: 2 },
    { C: 3, M: 3, H: 5, W: 5, k: 3, stride: 2, pad: 1, group: 3, xSigned: false, wSigned: true, perChannel: true, bias: true, jsOnly: true },
    { C: 3, M: 3, H: 16, W: 16, k: 3, stride: 2, pad: 0, group: 3, xSigned: false, wSigned: true, perChannel: true, bias: true },
    { C: 32, M: 24, H: 14, W: 14, k: 1, stride: 1, pad: 0, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true, clamp: [100, 255] },
    // Under 8 output positions: the GEMV (1×1 after a global pool; a 3×3 on a 2×2 image, im2col in JS; groups).
    { C: 13, M: 6, H: 1, W: 1, k: 1, stride: 1, pad: 0, group: 1, xSigned: false, wSigned: true, perChannel: true, bias: true, batch: 2 },
    { C: 96, M: 27, H: 1, W: 1, k: 1, stride: 1, pad: 0, group: 1, xSigned: true, wSigned: true, perChannel: false, bias: true, clamp: [0, 127] },
    { C: 5, M: 7, H: 2, W: 2, k: 3, stride: 1, pad: 1, group: 1, xSigned: false, wSigned: false, perChannel: true, bias: false },
    { C: 6, M: 10, H: 1, W: 3, k: 1, stride: 1, pad: 0, group: 2, xSigned: false, wSigned: true, perChannel: true, bias: true },
  ];
  for (const c of cases) {
    const label = `C${c.C} M${c.M} ${c.H}x${c.W} k${c.k} s${c.stride} p${c.pad} g${c.group} x ${c.xSigned ? 'i8' : 'u8'} w ${c.wSigned ? 'i8' : 'u8'}` +
      `${c.dil ? ` d${c.dil}` : ''}${c.perChannel ? ' per-channel' : ''}${c.bias ? ' bias' : ''}${c.clamp ? ' clamp' : ''}${c.batch ? ` batch ${c.batch}` : ''}`;
    it(`${label}: wasm = JS = reference, bit for bit`, () => {
      const x = t8(c.xSigned, [c.batch ?? 1, c.C, c.H, c.W], c.C * 3 + c.H);
      const w = t8(c.wSigned, [c.M, c.C / c.group, c.k, c.k], c.M * 5 + c.k);
      const nz = c.perChannel ? c.M : 1;
      const ws = Float32Array.from({ length: nz }, (_, i) => f(0.002 + 0.0003 * i));
      const wz = c.wSigned ? Int8Array.from({ length: nz }, (_, i) => (i % 5) - 2) : Uint8Array.from({ length: nz }, (_, i) => 120 + (i % 9));
      const B = c.bias ? Int32Array.from({ length: c.M }, (_, i) => i * 97 - 300) : undefined;
      const [xs, xz, ys, yz] = [0.05, c.xSigned ? -4 : 131, 0.09, c.xSigned ? 5 : 128];
      const yType = c.xSigned ? 'int8' : 'uint8';
      const inputs: (TensorData | undefined)[] = [
        x, scalar('float32', xs), scalar(yType, xz), w,
        { dtype: 'float32', shape: c.perChannel ? [nz] : [], data: ws },
        { dtype: c.wSigned ? 'int8' : 'uint8', shape: c.perChannel ? [nz] : [], data: wz },
        scalar('float32', ys), scalar(yType, yz),
        B === undefined ? undefined : { dtype: 'int32', shape: [c.M], data: B },
      ];
      const attrs: Record<string, AttrValue> = {
        kernel_shape: [c.k, c.k], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], group: c.group,
        dilations: [c.dil ?? 1, c.dil ?? 1],
      };
      let [lo, hi] = c.xSigned ? [-128, 127] : [0, 255];
      if (c.clamp !== undefined) {
        [lo, hi] = c.clamp;
        attrs.output_min = lo;
        attrs.output_max = hi;
      }
      const domain = c.clamp === undefined ? '' : 'tinfer';
      const expected = naiveQLinearConv(c, x.data as Int8Like, xz, w.data as Int8Like, ws, wz, f(ys), yz, B, lo, hi, f(xs));
      const constant = [1, 2, 3, 4, 5, 6, 7, 8];
      gemmCalls = 0;
      const got = runOp('wasm', 'QLinearConv', domain, inputs, constant, attrs);
      if (c.jsOnly) expect(gemmCalls, 'no wasm kernel applies').toBe(0);
      else expect(gemmCalls, 'the wasm kernel ran').toBeGreaterThan(0);
      expect(Array.from(got.data as Int8Like)).toEqual(expected);
      expect(Array.from(runOp('js', 'QLinearConv', domain, inputs, constant, attrs).data as Int8Like)).toEqual(expected);
    });
  }

  it('falls back to the JS kernel when the views are not in wasm memory', () => {
    const c = { C: 4, M: 4, H: 4, W: 4 };
    const x = t8(false, [1, c.C, c.H, c.W], 1);
    const w = t8(true, [c.M, c.C, 1, 1], 2);
    const inputs: TensorData[] = [x, scalar('float32', 0.1), scalar('uint8', 128), w, scalar('float32', 0.01), scalar('int8', 0), scalar('float32', 0.2), scalar('uint8', 128)];
    const node = makeNode('QLinearConv', {}, inputs.length);
    const prepared = defaultRegistry.get(node).prepare({
      node, opset: 13, inputs: inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constants: inputs.map((t, i) => (i > 0 ? t : undefined)), options: { wasm },
    });
    gemmCalls = 0;
    const y = new Uint8Array(c.M * c.H * c.W);
    prepared.run(inputs.map((t) => t.data), [y], []);
    expect(gemmCalls).toBe(0);
    expect(Array.from(y)).toEqual(Array.from(runOp('js', 'QLinearConv', '', inputs, [1, 2, 3, 4, 5, 6, 7], {}).data as Uint8Array));
  });
});

describe('QLinearAdd / QLinearMul on wasm SIMD (equal shapes)', () => {
  for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
    for (const signed of [false, true]) {
      for (const n of [1, 5, 67, 4099]) {
        it(`${op} ${signed ? 'int8' : 'uint8'} n=${n}: wasm = JS = reference in float32 steps`, () => {
          const A = t8(signed, [n], n + 1);
          const B = t8(signed, [n], n + 2);
          const [sa, za, sb, zb, sc, zc] = signed ? [0.031, -3, 0.017, 9, op === 'QLinearAdd' ? 0.045 : 0.9, 2] : [0.031, 125, 0.017, 140, op === 'QLinearAdd' ? 0.045 : 0.9, 120];
          const yType = signed ? 'int8' : 'uint8';
          const inputs = [A, scalar('float32', sa), scalar(yType, za), B, scalar('float32', sb), scalar(yType, zb), scalar('float32', sc), scalar(yType, zc)];
          const [lo, hi] = signed ? [-128, 127] : [0, 255];
          const expected = Array.from({ length: n }, (_, i) => {
            const va = f(f(sa) * ((A.data as Int8Like)[i]! - za));
            const vb = f(f(sb) * ((B.data as Int8Like)[i]! - zb));
            const r = f(f(op === 'QLinearAdd' ? va + vb : va * vb) / f(sc));
            const q = Math.round(r) - (Math.abs(r % 1) === 0.5 && Math.round(r) % 2 !== 0 ? 1 : 0) + zc;
            return Math.min(hi, Math.max(lo, q));
          });
          gemmCalls = 0;
          const got = runOp('wasm', op, 'com.microsoft', inputs, [1, 2, 4, 5, 6, 7], {});
          expect(gemmCalls, 'the wasm kernel ran').toBe(1);
          expect(Array.from(got.data as Int8Like)).toEqual(expected);
          expect(Array.from(runOp('js', op, 'com.microsoft', inputs, [1, 2, 4, 5, 6, 7], {}).data as Int8Like)).toEqual(expected);
        });
      }
    }
  }
});

describe('QLinearAdd / QLinearMul broadcasts as rows on wasm SIMD', () => {
  const params = (signed: boolean, op: string) => {
    const t = signed ? 'int8' : 'uint8';
    const [sa, za, sb, zb, sc, zc] = signed ? [0.031, -3, 0.017, 9, op === 'QLinearAdd' ? 0.045 : 0.9, 2] : [0.031, 125, 0.017, 140, op === 'QLinearAdd' ? 0.045 : 0.9, 120];
    return [scalar('float32', sa), scalar(t, za), scalar('float32', sb), scalar(t, zb), scalar('float32', sc), scalar(t, zc)] as const;
  };
  const inputsOf = (signed: boolean, op: string, a: number[], b: number[], seed: number): TensorData[] => {
    const [as, az, bs, bz, cs, cz] = params(signed, op);
    return [t8(signed, a, seed), as, az, t8(signed, b, seed + 1), bs, bz, cs, cz];
  };
  // [A, B, kernel calls = rows]: contiguous rows (qs8_v{add,mul}) or one-value rows (qs8_v{add,mul}_planes).
  const cases: [number[], number[], number][] = [[[1, 5, 7], [3, 1, 7], 15], [[2, 3, 1, 1], [1, 1, 5, 7], 6], [[13], [13, 1], 13], [[1, 1, 40], [3, 2, 1], 6]];
  for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
    for (const signed of [false, true]) {
      for (const [a, b, rows] of cases) {
        it(`${op} ${signed ? 'int8' : 'uint8'} [${a}] by [${b}]: one wasm call per row, = the reference`, () => {
          const inputs = inputsOf(signed, op, a, b, rows);
          gemmCalls = 0;
          const got = runOp('wasm', op, 'com.microsoft', inputs, [1, 2, 4, 5, 6, 7], {});
          expect(gemmCalls, 'one kernel call per row').toBe(rows);
          expect(Array.from(got.data as Int8Like)).toEqual(Array.from(runOp('js', op, 'com.microsoft', inputs, [1, 2, 4, 5, 6, 7], {}).data as Int8Like));
        });
      }
    }
  }

  it('views outside wasm memory run the reference, counted as JS fallbacks', () => {
    const inputs = inputsOf(false, 'QLinearAdd', [1, 5, 7], [3, 1, 7], 3);
    const node = makeNode('QLinearAdd', {}, inputs.length, 1, 'com.microsoft');
    const ctx = (options: PrepareContext['options']): PrepareContext => ({
      node, opset: 1, inputs: inputs.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })), constants: inputs.map((t, i) => (i === 0 || i === 3 ? undefined : t)), options,
    });
    const prepared = defaultRegistry.get(node).prepare(ctx({ wasm }));
    expect(prepared.variant).toBe('u8_qlinearadd_bcast__wasmsimd');
    expect(prepared.detail).toBe('wasm qs8 vadd, broadcast as 15 rows of 7 (js for views outside wasm memory)');
    const reference = defaultRegistry.get(node).prepare(ctx({}));
    const [y, want] = [new Uint8Array(105), new Uint8Array(105)];
    gemmCalls = 0;
    prepared.run(inputs.map((t) => t.data), [y], []);
    reference.run(inputs.map((t) => t.data), [want], []);
    expect(gemmCalls, 'no wasm kernel ran').toBe(0);
    expect(prepared.jsFallbacks?.calls).toBe(1);
    expect(Array.from(y)).toEqual(Array.from(want));
  });
});

/** requantize((a - za)·(b - zb[n]) + bias[n], mult[n]) by definition; b element (k, n) at k·kStride + n·nStride. */
function naiveRightConstant(
  rows: number, K: number, N: number, a: Int8Like, za: number, b: Int8Like, kStride: number, nStride: number, zb: ArrayLike<number>,
  bias: (n: number) => number, mult: (n: number) => number, yz: number, lo: number, hi: number,
): number[] {
  const out: number[] = [];
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < N; n++) {
      let acc = bias(n);
      for (let k = 0; k < K; k++) acc += (a[m * K + k]! - za) * (b[k * kStride + n * nStride]! - zb[zb.length === 1 ? 0 : n]!);
      out.push(requantize(acc, mult(n), yz, lo, hi));
    }
  }
  return out;
}

describe('QLinearMatMul / QGemm with constant weights on the wasm int8 GEMM', () => {
  const shapes: [number[], number, number][] = [[[1, 17], 17, 8], [[3, 5], 5, 9], [[2, 3, 67], 67, 13], [[7, 128], 128, 40]];
  for (const [aShape, K, N] of shapes) {
    for (const [aSigned, bSigned, perColumn] of [[false, true, true], [true, true, false], [false, false, true]] as const) {
      const label = `a [${aShape}] ${aSigned ? 'i8' : 'u8'} · b [${K},${N}] ${bSigned ? 'i8' : 'u8'}${perColumn ? ' per-column' : ''}`;
      it(`QLinearMatMul ${label}: wasm = JS = reference`, () => {
        const a = t8(aSigned, aShape, K + N);
        const b = t8(bSigned, [K, N], K * N);
        const np = perColumn ? N : 1;
        const bs = Float32Array.from({ length: np }, (_, i) => f(0.003 + 0.0001 * i));
        const bz = bSigned ? Int8Array.from({ length: np }, (_, i) => (i % 7) - 3) : Uint8Array.from({ length: np }, (_, i) => 125 + (i % 5));
        const [as, az, ys, yz] = [0.04, aSigned ? 3 : 130, 0.07, aSigned ? -2 : 127];
        const yType = aSigned ? 'int8' : 'uint8';
        const inputs: TensorData[] = [
          a, scalar('float32', as), scalar(yType, az), b,
          { dtype: 'float32', shape: perColumn ? [np] : [], data: bs }, { dtype: b.dtype, shape: perColumn ? [np] : [], data: bz },
          scalar('float32', ys), scalar(yType, yz),
        ];
        const [lo, hi] = aSigned ? [-128, 127] : [0, 255];
        const rows = sizeOf(aShape) / K;
        const expected = naiveRightConstant(rows, K, N, a.data as Int8Like, az, b.data as Int8Like, N, 1, bz, () => 0,
          (n) => f(f(f(as) * bs[perColumn ? n : 0]!) / f(ys)), yz, lo, hi);
        gemmCalls = 0;
        const got = runOp('wasm', 'QLinearMatMul', '', inputs, [1, 2, 3, 4, 5, 6, 7], {});
        expect(gemmCalls, 'the wasm kernel ran').toBe(1);
        expect(Array.from(got.data as Int8Like)).toEqual(expected);
        expect(Array.from(runOp('js', 'QLinearMatMul', '', inputs, [1, 2, 3, 4, 5, 6, 7], {}).data as Int8Like)).toEqual(expected);
      });
    }
  }

  for (const transB of [0, 1]) {
    for (const bias of ['none', 'per-column', 'scalar'] as const) {
      it(`QGemm transB=${transB}, bias ${bias}, alpha 0.5, clamped: wasm = JS = reference`, () => {
        const [M, K, N] = [3, 21, 19];
        const a = t8(false, [M, K], 3);
        const b = t8(true, transB ? [N, K] : [K, N], 4);
        const bs = Float32Array.from({ length: N }, (_, i) => f(0.002 + 0.0002 * i));
        const bz = Int8Array.from({ length: N }, () => 0);
        const C = bias === 'none' ? undefined : Int32Array.from({ length: bias === 'scalar' ? 1 : N }, (_, i) => 50 * i - 400);
        const [as, az, ys, yz] = [0.05, 128, 0.08, 120];
        const inputs: (TensorData | undefined)[] = [
          a, scalar('float32', as), scalar('uint8', az), b, { dtype: 'float32', shape: [N], data: bs }, { dtype: 'int8', shape: [N], data: bz },
          C === undefined ? undefined : { dtype: 'int32', shape: [C.length], data: C }, scalar('float32', ys), scalar('uint8', yz),
        ];
        const attrs = { transB, alpha: 0.5, output_min: 10, output_max: 240 };
        const expected = naiveRightConstant(M, K, N, a.data as Int8Like, az, b.data as Int8Like, transB ? 1 : N, transB ? K : 1, bz,
          (n) => (C === undefined ? 0 : C[C.length === 1 ? 0 : n]!), (n) => f(f(f(f(0.5) * f(as)) * bs[n]!) / f(ys)), yz, 10, 240);
        const constant = [1, 2, 3, 4, 5, 6, 7, 8];
        gemmCalls = 0;
        const got = runOp('wasm', 'QGemm', 'tinfer', inputs, constant, attrs);
        expect(gemmCalls, 'the wasm kernel ran').toBe(1);
        expect(Array.from(got.data as Int8Like)).toEqual(expected);
        expect(Array.from(runOp('js', 'QGemm', 'tinfer', inputs, constant, attrs).data as Int8Like)).toEqual(expected);
      });
    }
  }
});

describe('QGemm with a float output (a classifier head) on the wasm int8 GEMM', () => {
  it('y = f32(f32(acc + C)·f32(f32(alpha·a_scale)·b_scale)): wasm = JS = reference', () => {
    const [M, K, N] = [2, 37, 11];
    const a = t8(false, [M, K], 8);
    const b = t8(true, [N, K], 9);
    const bs = Float32Array.from({ length: N }, (_, i) => f(0.001 + 0.0003 * i));
    const C = Int32Array.from({ length: N }, (_, i) => 31 * i - 100);
    const inputs: TensorData[] = [
      a, scalar('float32', 0.05), scalar('uint8', 128), b, { dtype: 'float32', shape: [N], data: bs }, scalar('int8', 0),
      { dtype: 'int32', shape: [N], data: C },
    ];
    const attrs = { transB: 1, alpha: 0.75 };
    const expected: number[] = [];
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = C[n]!;
        for (let k = 0; k < K; k++) acc += ((a.data as Int8Like)[m * K + k]! - 128) * (b.data as Int8Like)[n * K + k]!;
        expected.push(f(f(acc) * f(f(f(0.75) * f(0.05)) * bs[n]!)));
      }
    }
    gemmCalls = 0;
    const got = runOp('wasm', 'QGemm', 'com.microsoft', inputs, [1, 2, 3, 4, 5, 6], attrs);
    expect(gemmCalls, 'the wasm kernel ran').toBe(1);
    expect(got.dtype).toBe('float32');
    expect(Array.from(got.data as Float32Array)).toEqual(expected);
    expect(Array.from(runOp('js', 'QGemm', 'com.microsoft', inputs, [1, 2, 3, 4, 5, 6], attrs).data as Float32Array)).toEqual(expected);
  });
});

describe('QuantizeLinear float32 → 8 bits per tensor on wasm SIMD', () => {
  for (const yType of ['uint8', 'int8'] as const) {
    for (const n of [3, 4, 1029]) {
      it(`${yType} n=${n}: wasm = JS = saturate(roundHalfEven(f32(x / scale)) + zp), ties and NaN included`, () => {
        const r = rng(n);
        const scale = 0.5;
        // Halves make ties; large values saturate; NaN becomes 0.
        const x = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? (i % 2 ? 1.25 : -0.75) : i % 11 === 0 ? (i % 2 ? 1e9 : -1e9) : i === 5 ? NaN : (r() - 0.5) * 200));
        const zp = yType === 'uint8' ? 128 : -3;
        const [lo, hi] = yType === 'uint8' ? [0, 255] : [-128, 127];
        const expected = Array.from(x, (v) => {
          if (Number.isNaN(v)) return 0;
          const s = f(v / scale);
          const q = Math.round(s) - (Math.abs(s % 1) === 0.5 && Math.round(s) % 2 !== 0 ? 1 : 0) + zp;
          return Math.min(hi, Math.max(lo, q));
        });
        const inputs: TensorData[] = [{ dtype: 'float32', shape: [n], data: x }, scalar('float32', scale), scalar(yType, zp)];
        gemmCalls = 0;
        const got = runOp('wasm', 'QuantizeLinear', '', inputs, [1, 2], {});
        expect(gemmCalls, 'the wasm kernel ran').toBe(1);
        expect(Array.from(got.data as Int8Like)).toEqual(expected);
        expect(Array.from(runOp('js', 'QuantizeLinear', '', inputs, [1, 2], {}).data as Int8Like)).toEqual(expected);
      });
    }
  }
});

describe('QLinearConv 1-D (im2col by the index map) on the wasm int8 GEMM', () => {
  it('equals the JS kernel bit for bit', () => {
    const [C, M, L, k] = [6, 5, 40, 3];
    const x = t8(false, [1, C, L], 21);
    const w = t8(true, [M, C, k], 22);
    const inputs: TensorData[] = [
      x, scalar('float32', 0.05), scalar('uint8', 120), w, { dtype: 'float32', shape: [M], data: Float32Array.from({ length: M }, (_, i) => f(0.003 + 0.001 * i)) },
      { dtype: 'int8', shape: [M], data: new Int8Array(M) }, scalar('float32', 0.1), scalar('uint8', 128),
      { dtype: 'int32', shape: [M], data: Int32Array.from({ length: M }, (_, i) => 100 * i) },
    ];
    const attrs = { kernel_shape: [k], strides: [2], pads: [1, 1], dilations: [2] };
    const constant = [1, 2, 3, 4, 5, 6, 7, 8];
    gemmCalls = 0;
    const got = runOp('wasm', 'QLinearConv', '', inputs, constant, attrs);
    expect(gemmCalls, 'the wasm kernel ran').toBe(1);
    const js = runOp('js', 'QLinearConv', '', inputs, constant, attrs);
    expect(got.shape).toEqual([1, M, 19]);
    expect(Array.from(got.data as Uint8Array)).toEqual(Array.from(js.data as Uint8Array));
  });
});

describe('QLinearConcat on wasm SIMD', () => {
  for (const signed of [false, true]) {
    it(`${signed ? 'int8' : 'uint8'}: requantized inputs and a copied one, odd lengths, two batches: wasm = JS = reference`, () => {
      const yType = signed ? 'int8' : 'uint8';
      const [ys, yz] = [0.05, signed ? 3 : 130];
      const xs: [number[], number, number][] = [[[2, 3, 5, 3], 0.031, signed ? -7 : 120], [[2, 1, 5, 3], 0.05, yz], [[2, 2, 5, 3], 0.08, signed ? 10 : 140]];
      const inputs: TensorData[] = [scalar('float32', ys), scalar(yType, yz)];
      xs.forEach(([shape, s, z], i) => inputs.push(t8(signed, shape, 40 + i), scalar('float32', s), scalar(yType, z)));
      const [lo, hi] = signed ? [-128, 127] : [0, 255];
      const requant = (v: number, s: number, z: number) => {
        const r = f(f(f(s) * (v - z)) / f(ys));
        const q = Math.round(r) - (Math.abs(r % 1) === 0.5 && Math.round(r) % 2 !== 0 ? 1 : 0) + yz;
        return Math.min(hi, Math.max(lo, q));
      };
      const expected: number[] = [];
      for (let n = 0; n < 2; n++) {
        xs.forEach(([shape, s, z], i) => {
          const len = shape[1]! * shape[2]! * shape[3]!;
          const data = inputs[2 + 3 * i]!.data as Int8Like;
          for (let j = 0; j < len; j++) expected.push(requant(data[n * len + j]!, s, z));
        });
      }
      const constant = [0, 1, 3, 4, 6, 7, 9, 10];
      gemmCalls = 0;
      const got = runOp('wasm', 'QLinearConcat', 'com.microsoft', inputs, constant, { axis: 1 });
      expect(gemmCalls, 'the wasm kernel ran').toBe(4);
      expect(got.shape).toEqual([2, 6, 5, 3]);
      expect(Array.from(got.data as Int8Like)).toEqual(expected);
      expect(Array.from(runOp('js', 'QLinearConcat', 'com.microsoft', inputs, constant, { axis: 1 }).data as Int8Like)).toEqual(expected);
    });
  }
});

describe('int8 weight uploads', () => {
  it('re-preparing a node for new input shapes reuses the uploaded panels', () => {
    const [C, M] = [64, 64];
    const w = t8(true, [M, C, 3, 3], 77);
    const wz = { dtype: 'int8' as const, shape: [M], data: new Int8Array(M) };
    const prepareFor = (H: number) => {
      const inputs: TensorData[] = [
        t8(false, [1, C, H, H], 78), scalar('float32', 0.05), scalar('uint8', 128), w, { dtype: 'float32', shape: [M], data: new Float32Array(M).fill(0.01) },
        wz, scalar('float32', 0.1), scalar('uint8', 128),
      ];
      const node = makeNode('QLinearConv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, inputs.length);
      return defaultRegistry.get(node).prepare({
        node, opset: 13, inputs: inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constants: inputs.map((t, i) => (i > 0 ? t : undefined)), options: { wasm },
      });
    };
    const kept = [prepareFor(24)];
    const before = wasm.allocatedBytes;
    kept.push(prepareFor(16)); // smaller: the shared scratch does not grow
    const panelBytes = rowPanelBytes(M, C * 9);
    expect(wasm.allocatedBytes - before, 'only the per-plan parameters (and scratch) are new').toBeLessThan(panelBytes);
    expect(kept).toHaveLength(2);
  });
});

describe('int8 weights packed in place in reused wasm memory', () => {
  // The packs are written straight into newly allocated wasm memory (wasmInt16Array), which may hold an earlier
  // block's bytes: every element must be written. Fill a large block with 0x5a and free it, so the packs land there.
  function dirty(): void {
    const bytes = 8 << 20;
    const at = wasm.alloc(bytes);
    new Uint8Array(wasm.memory.buffer, at, bytes).fill(0x5a);
    wasm.free(at);
  }
  it('an in-place pack that grows the memory is a view of the grown memory', () => {
    const before = wasm.memory.buffer.byteLength;
    const packed = wasmInt16Array(wasm, before); // twice the memory's bytes: it must grow
    expect(wasm.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(packed.buffer).toBe(wasm.memory.buffer);
    wasm.free(packed.byteOffset);
  });
  const convCases: [C: number, M: number, k: number, group: number][] = [[13, 7, 1, 1], [5, 9, 3, 1], [6, 10, 3, 2], [16, 67, 1, 1]];
  for (const [C, M, k, group] of convCases) {
    it(`QLinearConv C${C} M${M} k${k} g${group}: wasm = JS`, () => {
      dirty();
      const x = t8(false, [1, C, 9, 10], 500 + C);
      const w = t8(true, [M, C / group, k, k], 600 + M);
      const inputs: TensorData[] = [
        x, scalar('float32', 0.05), scalar('uint8', 131), w, scalar('float32', 0.002), scalar('int8', 1), scalar('float32', 0.09), scalar('uint8', 128),
      ];
      const attrs: Record<string, AttrValue> = { kernel_shape: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], group };
      const constant = [1, 2, 3, 4, 5, 6, 7];
      gemmCalls = 0;
      const got = runOp('wasm', 'QLinearConv', '', inputs, constant, attrs);
      expect(gemmCalls, 'the wasm kernel ran').toBeGreaterThan(0);
      expect(Array.from(got.data as Int8Like)).toEqual(Array.from(runOp('js', 'QLinearConv', '', inputs, constant, attrs).data as Int8Like));
    });
  }
  for (const [rows, K, N] of [[3, 17, 9], [5, 33, 8], [2, 7, 21]] as const) {
    it(`QLinearMatMul [${rows},${K}]·[${K},${N}] and MatMulInteger: wasm = JS`, () => {
      dirty();
      const a = t8(false, [rows, K], 700 + K);
      const b = t8(true, [K, N], 800 + N);
      const q: TensorData[] = [a, scalar('float32', 0.04), scalar('uint8', 130), b, scalar('float32', 0.003), scalar('int8', -2), scalar('float32', 0.07), scalar('uint8', 127)];
      gemmCalls = 0;
      const got = runOp('wasm', 'QLinearMatMul', '', q, [1, 2, 3, 4, 5, 6, 7], {});
      expect(gemmCalls, 'the wasm kernel ran').toBe(1);
      expect(Array.from(got.data as Int8Like)).toEqual(Array.from(runOp('js', 'QLinearMatMul', '', q, [1, 2, 3, 4, 5, 6, 7], {}).data as Int8Like));
      dirty();
      const b2 = t8(true, [K, N], 900 + N);
      const mi: TensorData[] = [a, b2, scalar('uint8', 130), scalar('int8', -2)];
      const wasmOut = runOp('wasm', 'MatMulInteger', '', mi, [1, 3], {});
      expect(Array.from(wasmOut.data as Int32Array)).toEqual(Array.from(runOp('js', 'MatMulInteger', '', mi, [1, 3], {}).data as Int32Array));
    });
  }
});

describe('profile details', () => {
  it('QLinearConv says which path was prepared', () => {
    const detailFor = (options: { wasm?: WasmContext }, group: number) => {
      const [C, M] = [8, 8];
      const inputs: TensorData[] = [
        t8(false, [1, C, 12, 12], 1), scalar('float32', 0.05), scalar('uint8', 128), t8(true, [M, C / group, 3, 3], 2),
        scalar('float32', 0.01), scalar('int8', 0), scalar('float32', 0.1), scalar('uint8', 128),
      ];
      const node = makeNode('QLinearConv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group }, inputs.length);
      return defaultRegistry.get(node).prepare({
        node, opset: 13, inputs: inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })), constants: inputs.map((t, i) => (i > 0 ? t : undefined)), options,
      }).detail;
    };
    expect(detailFor({ wasm }, 1)).toMatch(/^wasm qs8 gemm 4x8c2, im2col in wasm/);
    expect(detailFor({ wasm }, 8)).toMatch(/^wasm qs8 depthwise 3x3s1, 8 outputs per step/);
    expect(detailFor({}, 1)).toBe('js int8 packed gemm');
    expect(detailFor({}, 8)).toBe('js int8 depthwise');
  });
});
