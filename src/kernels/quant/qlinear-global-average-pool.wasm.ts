import type { WasmContext, WasmModuleSpec } from '../../wasm/context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local, minInto } from '../../wasm/loops.js';

/**
 * `q8_gavgpool_nchw__wasmsimd_{u8,s8}`: com.microsoft QLinearGlobalAveragePool over planes of S contiguous bytes
 * (channels_last = 0), as MlasQLinearGlobalAveragePoolNchw computes it (and the JS reference):
 *   y[c] = clamp(roundHalfEven(f32(f32(Σ_s x[c, s] + bias) · scale)) + zp, lo, hi)
 * with bias = -x_zp·S and scale = f32(x_scale / f32(y_scale·S)) from the caller. The sums are exact int32 (the
 * caller keeps 255·S below 2^31): 16 bytes per step widened by two pairwise adds (`extadd_pairwise`, unsigned or
 * signed per variant, so zero lanes of the 8-byte step add nothing), then the last S mod 8 bytes one at a time.
 * Four planes make one vector for the requantization (the ±1.5·2^23 rounding of the int8 GEMM's store, exact below
 * 2^22; NaN becomes 0 as a typed-array store of NaN does).
 */
export type GlobalAveragePoolKernel = (x: number, y: number, planes: number, S: number, bias: number, scale: number, zp: number, lo: number, hi: number) => void;

export interface QLinearPoolKernels {
  /** [uint8, int8]. */
  readonly globalAverage: readonly [GlobalAveragePoolKernel, GlobalAveragePoolKernel];
}

/** 1.5·2^23: adding and subtracting it rounds an f32 below 2^22 in magnitude to the nearest even integer. */
const ROUND_MAGIC_F32 = 12582912;

export function globalAveragePoolName(signed: boolean): string {
  return `q8_gavgpool_nchw__wasmsimd_${signed ? 's8' : 'u8'}`;
}

function emitGlobalAveragePool(signed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, F32, F32, F32, F32]);
  const [x, y, planes, S, bias, scale, zp, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const c0 = f.local(I32), plane = f.local(I32), p = f.local(I32), i = f.local(I32), end16 = f.local(I32), sum = f.local(I32);
  const acc = f.local(V128), sums = f.local(V128), magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  const widen = () => f.simd(signed ? 'i16x8.extadd_pairwise_i8x16_s' : 'i16x8.extadd_pairwise_i8x16_u').simd('i32x4.extadd_pairwise_i16x8_s');
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(S).i32(-16).op('i32.and').set(end16);
  forLoop(f, c0, konst(0), local(planes), konst(4), () => {
    f.v128Const(new Uint8Array(16)).set(sums);
    for (let r = 0; r < 4; r++) {
      // Planes past the last repeat it (their lanes are not stored).
      minInto(f, plane, (g) => g.get(c0).i32(r).op('i32.add'), (g) => g.get(planes).i32(1).op('i32.sub'));
      f.get(x).get(plane).get(S).op('i32.mul').op('i32.add').set(p);
      f.v128Const(new Uint8Array(16)).set(acc);
      forLoop(f, i, konst(0), local(end16), konst(16), () => {
        f.get(acc).get(p).get(i).op('i32.add').v128Load(0, 0);
        widen();
        f.simd('i32x4.add').set(acc);
      });
      f.get(end16).set(i);
      f.get(i).i32(8).op('i32.add').get(S).op('i32.le_s').if();
      f.get(acc).get(p).get(i).op('i32.add').simdMem('v128.load64_zero', 0, 0);
      widen();
      f.simd('i32x4.add').set(acc);
      f.get(i).i32(8).op('i32.add').set(i);
      f.end();
      f.get(acc).lane('i32x4.extract_lane', 0).get(acc).lane('i32x4.extract_lane', 1).op('i32.add');
      f.get(acc).lane('i32x4.extract_lane', 2).op('i32.add').get(acc).lane('i32x4.extract_lane', 3).op('i32.add').set(sum);
      forLoop(f, i, local(i), local(S), konst(1), () => {
        f.get(sum).get(p).get(i).op('i32.add').i32Load8(signed).op('i32.add').set(sum);
      });
      f.get(sums).get(sum).lane('i32x4.replace_lane', r).set(sums);
    }
    f.get(sums).get(bias).simd('i32x4.splat').simd('i32x4.add');
    f.simd('f32x4.convert_i32x4_s').get(scale).simd('f32x4.splat').simd('f32x4.mul');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zpv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s').set(sums);
    for (let r = 0; r < 4; r++) {
      if (r > 0) f.get(c0).i32(r).op('i32.add').get(planes).op('i32.lt_s').if();
      f.get(y).get(c0).op('i32.add').get(sums).lane('i32x4.extract_lane', r).i32Store8(r);
      if (r > 0) f.end();
    }
  });
  return f;
}

export const QLINEAR_POOL_KERNELS: WasmModuleSpec<QLinearPoolKernels> = {
  key: 'qlinear-pool',
  build(m: ModuleBuilder) {
    for (const signed of [false, true]) m.addFunction(emitGlobalAveragePool(signed), globalAveragePoolName(signed));
  },
  bind(e) {
    return { globalAverage: [e[globalAveragePoolName(false)] as GlobalAveragePoolKernel, e[globalAveragePoolName(true)] as GlobalAveragePoolKernel] };
  },
};

/** The quantized pooling kernels of this context, or undefined (no wasm backend, or the engine refused the module). */
export function qlinearPoolKernels(wasm: WasmContext | undefined): QLinearPoolKernels | undefined {
  return wasm?.use(QLINEAR_POOL_KERNELS);
}
