import type { WasmContext, WasmModuleSpec } from '../../wasm/context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

/**
 * WebAssembly SIMD kernels of dynamic int8 quantization and the QDQ boundary, beside the int8 GEMM family
 * (src/wasm/int8-kernels.ts):
 * - `f32_minmax__wasmsimd`: the range DynamicQuantizeLinear quantizes over, min(0, min x) and max(0, max x);
 * - `q8_quantize_axis__wasmsimd_{u8,s8}`: QuantizeLinear (and DynamicQuantizeLinear's quantize) per tensor or per axis;
 * - `q8_dequantize_axis__wasmsimd_{u8,s8}`: DequantizeLinear per tensor or per axis;
 * - `q8_pack_rows__wasmsimd_{u8,s8}`: the int16 A panels of the int8 GEMM from 8-bit rows minus their zero points
 *   (the activations of MatMulInteger, packed per call; the JS packRowPairs does the same).
 * Every kernel matches its JS reference bit for bit: the arithmetic is the same float32 steps (see each).
 */

/** 1.5·2^23: adding and subtracting it rounds an f32 below 2^22 in magnitude to the nearest even integer. */
const ROUND_MAGIC_F32 = 12582912;
/** Byte lanes taking the low byte of each int32 lane: four 8-bit values in the low 4 bytes. */
const LOW_BYTES = [0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12];

/**
 * f32_minmax(x, n, out): out[0] = min(0, x[0..n)), out[1] = max(0, x[0..n)) as float32 (bytes at out, out + 4).
 * pmin / pmax keep the running value when x is NaN, as the JS loop's `if (v < lo) lo = v` does.
 */
export type MinMaxKernel = (x: number, n: number, out: number) => void;

function emitMinMax(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32]);
  const [x, n, out] = [0, 1, 2] as const;
  const i = f.local(I32), end = f.local(I32), lo = f.local(V128), hi = f.local(V128), v = f.local(V128);
  const slo = f.local(F32), shi = f.local(F32), s = f.local(F32);
  f.v128Const(new Uint8Array(16)).set(lo);
  f.v128Const(new Uint8Array(16)).set(hi);
  f.get(n).i32(-4).op('i32.and').set(end);
  forLoop(f, i, konst(0), local(end), konst(4), () => {
    f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 0).set(v);
    f.get(lo).get(v).simd('f32x4.pmin').set(lo);
    f.get(hi).get(v).simd('f32x4.pmax').set(hi);
  });
  // Horizontal: the four lanes, then the tail, one compare-select each.
  f.f32(0).set(slo);
  f.f32(0).set(shi);
  const fold = (value: () => void) => {
    value();
    f.set(s);
    f.get(s).get(slo).get(s).get(slo).op('f32.lt').select().set(slo);
    f.get(s).get(shi).get(shi).get(s).op('f32.lt').select().set(shi);
  };
  for (let l = 0; l < 4; l++) {
    fold(() => f.get(lo).lane('f32x4.extract_lane', l));
    fold(() => f.get(hi).lane('f32x4.extract_lane', l));
  }
  forLoop(f, i, local(end), local(n), konst(1), () => {
    fold(() => f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').f32Load(0, 0));
  });
  f.get(out).get(slo).f32Store(0, 0);
  f.get(out).get(shi).f32Store(4, 0);
  return f;
}

/**
 * q8_quantize_axis(x, y, outer, D, inner, scales, zps, lo, hi): x viewed as [outer, D, inner] float32, scale and
 * zero point per index of D (f32 scales[a], i32 zps[a]; D = 1 for per tensor):
 *   y = clamp(roundHalfEven(f32(x / scale)) + zp, lo, hi)
 * (ONNX QuantizeLinear; the JS quantizeToRange(fround(v / scale), zp, lo, hi)). Rounding by ±1.5·2^23 is exact
 * below 2^22; larger quotients saturate either way. NaN becomes 0 as a typed-array store of NaN does.
 */
export type QuantizeAxisKernel = (x: number, y: number, outer: number, D: number, inner: number, scales: number, zps: number, lo: number, hi: number) => void;

function emitQuantizeAxis(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, F32, F32]);
  const [x, y, outer, D, inner, scales, zps, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const o = f.local(I32), a = f.local(I32), i = f.local(I32), end = f.local(I32);
  const scalev = f.local(V128), magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128), v = f.local(V128);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(inner).i32(-4).op('i32.and').set(end);
  const quantize = () => {
    f.get(scalev).simd('f32x4.div');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zpv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s');
  };
  forLoop(f, o, konst(0), local(outer), konst(1), () => {
    forLoop(f, a, konst(0), local(D), konst(1), () => {
      f.get(scales).get(a).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0, 0).set(scalev);
      f.get(zps).get(a).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0, 0).simd('f32x4.convert_i32x4_s').set(zpv);
      forLoop(f, i, konst(0), local(end), konst(4), () => {
        f.get(y).get(i).op('i32.add');
        f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 0);
        quantize();
        f.set(v);
        f.get(v).get(v).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
      });
      forLoop(f, i, local(end), local(inner), konst(1), () => {
        f.get(y).get(i).op('i32.add');
        f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0, 0);
        quantize();
        f.lane('i32x4.extract_lane', 0).i32Store8(0);
      });
      f.get(x).get(inner).i32(2).op('i32.shl').op('i32.add').set(x);
      f.get(y).get(inner).op('i32.add').set(y);
    });
  });
  return f;
}

/**
 * q8_dequantize_axis(x, y, outer, D, inner, scales, zps): x viewed as [outer, D, inner] bytes, per index of D an
 * f32 scale and an i32 zero point:
 *   y = f32(f32(x - zp) · scale)
 * (ONNX DequantizeLinear as the JS kernel computes it; x - zp is an exact small integer). Bytes are read as int8
 * after ^ flip, so the uint8 variant subtracts zp - 128.
 */
export type DequantizeAxisKernel = (x: number, y: number, outer: number, D: number, inner: number, scales: number, zps: number) => void;

function emitDequantizeAxis(signed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [x, y, outer, D, inner, scales, zps] = [0, 1, 2, 3, 4, 5, 6] as const;
  const o = f.local(I32), a = f.local(I32), i = f.local(I32), end = f.local(I32);
  const scalev = f.local(V128), zpv = f.local(V128), flipv = f.local(V128), zpRaw = f.local(V128);
  f.i32(signed ? 0 : 0x80).simd('i8x16.splat').set(flipv);
  f.get(inner).i32(-4).op('i32.and').set(end);
  forLoop(f, o, konst(0), local(outer), konst(1), () => {
    forLoop(f, a, konst(0), local(D), konst(1), () => {
      f.get(scales).get(a).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0, 0).set(scalev);
      f.get(zps).get(a).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0, 0).set(zpRaw);
      f.get(zpRaw);
      if (!signed) f.i32(128).simd('i32x4.splat').simd('i32x4.sub');
      f.set(zpv);
      forLoop(f, i, konst(0), local(end), konst(4), () => {
        f.get(y).get(i).i32(2).op('i32.shl').op('i32.add');
        f.get(x).get(i).op('i32.add').simdMem('v128.load32_zero', 0, 0).get(flipv).simd('v128.xor');
        f.simd('i16x8.extend_low_i8x16_s').simd('i32x4.extend_low_i16x8_s').get(zpv).simd('i32x4.sub');
        f.simd('f32x4.convert_i32x4_s').get(scalev).simd('f32x4.mul').v128Store(0, 0);
      });
      forLoop(f, i, local(end), local(inner), konst(1), () => {
        f.get(y).get(i).i32(2).op('i32.shl').op('i32.add');
        f.get(x).get(i).op('i32.add').i32Load8(signed, 0).simd('i32x4.splat').get(zpRaw).simd('i32x4.sub');
        f.simd('f32x4.convert_i32x4_s').get(scalev).simd('f32x4.mul').lane('f32x4.extract_lane', 0).f32Store(0, 0);
      });
      f.get(x).get(inner).op('i32.add').set(x);
      f.get(y).get(inner).i32(2).op('i32.shl').op('i32.add').set(y);
    });
  });
  return f;
}

/**
 * q8_pack_rows(src, lda, M, K, zps, zpStride, dst): the A panels of the int8 GEMM (QS8 layout, see
 * src/wasm/int8-kernels.ts) from M rows of K bytes at src (row stride lda): for m = 4p + r, k = 2j + e
 *   dst int16 [((p·KP + j)·4 + r)·2 + e] = x[m, k] - zps[m·zpStride]   (i32 zero points)
 * 0 where m ≥ M or k ≥ K. Eight k per step (bytes read as int8 after ^ flip: the uint8 variant subtracts zp - 128),
 * then pairs.
 */
export type PackRowsKernel = (src: number, lda: number, M: number, K: number, zps: number, zpStride: number, dst: number) => void;

function emitPackRows(signed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [src, lda, M, K, zps, zpStride, dst] = [0, 1, 2, 3, 4, 5, 6] as const;
  const m = f.local(I32), mEnd = f.local(I32), k = f.local(I32), kEnd = f.local(I32), row = f.local(I32), out = f.local(I32);
  const panelBytes = f.local(I32), zp = f.local(I32), lowV = f.local(I32);
  const shiftv = f.local(V128), flipv = f.local(V128), v = f.local(V128);
  f.i32(signed ? 0 : 0x80).simd('i8x16.splat').set(flipv);
  // KP·16 bytes per panel.
  f.get(K).i32(1).op('i32.add').i32(1).op('i32.shr_s').i32(16).op('i32.mul').set(panelBytes);
  f.get(M).i32(3).op('i32.add').i32(-4).op('i32.and').set(mEnd);
  f.get(K).i32(-8).op('i32.and').set(kEnd);
  forLoop(f, m, konst(0), local(mEnd), konst(1), () => {
    // out = dst + (m >> 2)·panelBytes + (m & 3)·4
    f.get(dst).get(m).i32(2).op('i32.shr_s').get(panelBytes).op('i32.mul').op('i32.add');
    f.get(m).i32(3).op('i32.and').i32(2).op('i32.shl').op('i32.add').set(out);
    f.get(m).get(M).op('i32.lt_s').if();
    {
      f.get(zps).get(m).get(zpStride).op('i32.mul').i32(2).op('i32.shl').op('i32.add').i32Load(0, 0).set(zp);
      f.get(zp);
      if (!signed) f.i32(128).op('i32.sub');
      f.simd('i16x8.splat').set(shiftv);
      f.get(src).get(m).get(lda).op('i32.mul').op('i32.add').set(row);
      forLoop(f, k, konst(0), local(kEnd), konst(8), () => {
        f.get(row).get(k).op('i32.add').simdMem('v128.load64_zero', 0, 0).get(flipv).simd('v128.xor');
        f.simd('i16x8.extend_low_i8x16_s').get(shiftv).simd('i16x8.sub').set(v);
        for (let j = 0; j < 4; j++) {
          f.get(out).get(v).lane('i32x4.extract_lane', j).i32Store(16 * j, 0);
        }
        f.get(out).i32(64).op('i32.add').set(out);
      });
      forLoop(f, k, local(kEnd), local(K), konst(2), () => {
        f.get(row).get(k).op('i32.add').i32Load8(signed, 0).get(zp).op('i32.sub').i32(0xffff).op('i32.and').set(lowV);
        f.get(out);
        f.get(lowV);
        // the high element, or 0 past K
        f.get(row).get(k).op('i32.add').i32Load8(signed, 1).get(zp).op('i32.sub').i32(16).op('i32.shl');
        f.i32(0);
        f.get(k).i32(1).op('i32.add').get(K).op('i32.lt_s').select();
        f.op('i32.or').i32Store(0, 0);
        f.get(out).i32(16).op('i32.add').set(out);
      });
    }
    f.else();
    forLoop(f, k, konst(0), local(K), konst(2), () => {
      f.get(out).i32(0).i32Store(0, 0);
      f.get(out).i32(16).op('i32.add').set(out);
    });
    f.end();
  });
  return f;
}

export interface DynamicInt8Kernels {
  readonly minMax: MinMaxKernel;
  /** Either 8-bit output type: lo, hi say which. */
  readonly quantize: QuantizeAxisKernel;
  /** [uint8, int8] */
  readonly dequantize: readonly [DequantizeAxisKernel, DequantizeAxisKernel];
  /** [uint8, int8] */
  readonly packRows: readonly [PackRowsKernel, PackRowsKernel];
}

export const MINMAX_NAME = 'f32_minmax__wasmsimd';
export const QUANTIZE_AXIS_NAME = 'q8_quantize_axis__wasmsimd';
export const dequantizeAxisName = (signed: boolean) => `q8_dequantize_axis__wasmsimd_${signed ? 's8' : 'u8'}`;
export const packRowsName = (signed: boolean) => `q8_pack_rows__wasmsimd_${signed ? 's8' : 'u8'}`;

export const DYNAMIC_INT8_KERNELS: WasmModuleSpec<DynamicInt8Kernels> = {
  key: 'int8-dynamic',
  build(m: ModuleBuilder) {
    m.addFunction(emitMinMax(), MINMAX_NAME);
    m.addFunction(emitQuantizeAxis(), QUANTIZE_AXIS_NAME);
    for (const signed of [false, true]) {
      m.addFunction(emitDequantizeAxis(signed), dequantizeAxisName(signed));
      m.addFunction(emitPackRows(signed), packRowsName(signed));
    }
  },
  bind(e) {
    return {
      minMax: e[MINMAX_NAME] as MinMaxKernel,
      quantize: e[QUANTIZE_AXIS_NAME] as QuantizeAxisKernel,
      dequantize: [e[dequantizeAxisName(false)] as DequantizeAxisKernel, e[dequantizeAxisName(true)] as DequantizeAxisKernel],
      packRows: [e[packRowsName(false)] as PackRowsKernel, e[packRowsName(true)] as PackRowsKernel],
    };
  },
};

/** The dynamic-int8 kernels of this context, or undefined (no wasm backend, or the engine refused the module). */
export function dynamicInt8Kernels(wasm: WasmContext | undefined): DynamicInt8Kernels | undefined {
  return wasm?.use(DYNAMIC_INT8_KERNELS);
}

/**
 * Per-index scales (f32) and zero points (i32) of a quantizer in one wasm block, plus two f32 of output (the
 * min / max of f32_minmax), written at run through views remade only after the memory grew.
 */
export class WasmQuantParams {
  readonly scales: number;
  readonly zeroPoints: number;
  /** Two float32: what f32_minmax writes. */
  readonly minMax: number;
  private scaleView = new Float32Array(0);
  private zpView = new Int32Array(0);
  private minMaxView = new Float32Array(0);

  constructor(private readonly wasm: WasmContext, private readonly count: number) {
    const padded = Math.ceil(count / 4) * 4;
    this.scales = wasm.alloc(8 * padded + 16, 64);
    this.zeroPoints = this.scales + 4 * padded;
    this.minMax = this.zeroPoints + 4 * padded;
  }

  private views(): void {
    const buffer = this.wasm.memory.buffer;
    if (this.scaleView.buffer !== buffer) {
      this.scaleView = new Float32Array(buffer, this.scales, this.count);
      this.zpView = new Int32Array(buffer, this.zeroPoints, this.count);
      this.minMaxView = new Float32Array(buffer, this.minMax, 2);
    }
  }

  /** scales[i] = scale[i] and zeroPoints[i] = zp?.[i] ?? 0 for every index (one value repeated when length 1). */
  write(scale: ArrayLike<number>, zp: ArrayLike<number | bigint> | undefined): void {
    this.views();
    for (let i = 0; i < this.count; i++) {
      this.scaleView[i] = scale[scale.length === 1 ? 0 : i]!;
      this.zpView[i] = zp === undefined ? 0 : Number(zp[zp.length === 1 ? 0 : i]);
    }
  }

  /** [min, max] that f32_minmax wrote. */
  readMinMax(): Float32Array {
    this.views();
    return this.minMaxView;
  }
}
