import type { WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128 } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/**
 * f32_row_mean(x, rows, n, y, scale): y[r] = scale · Σ_{i<n} x[r·n + i] for r < rows (x, y byte offsets): the
 * global average pool (scale 1/n) and every sum or mean over trailing axes. Four f32x4 partial sums per row
 * (16 floats per step), added pairwise at the end, then a scalar tail; the order differs from a sequential
 * sum only by float rounding.
 */
function emitRowMean(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, F32]);
  const [x, rows, n, y, scale] = [0, 1, 2, 3, 4];
  const r = f.local(I32), p = f.local(I32), i = f.local(I32), n16 = f.local(I32), n4 = f.local(I32);
  const a0 = f.local(V128), a1 = f.local(V128), a2 = f.local(V128), a3 = f.local(V128), s = f.local(F32);
  const acc = [a0, a1, a2, a3];
  f.get(n).i32(-16).op('i32.and').set(n16);
  f.get(n).i32(-4).op('i32.and').set(n4);
  f.get(x).set(p);
  forLoop(f, r, konst(0), local(rows), konst(1), () => {
    for (const a of acc) f.f32(0).simd('f32x4.splat').set(a);
    forLoop(f, i, konst(0), local(n16), konst(16), () => {
      acc.forEach((a, k) => f.get(a).get(p).v128Load(16 * k, 2).simd('f32x4.add').set(a));
      f.get(p).i32(64).op('i32.add').set(p);
    });
    forLoop(f, i, local(n16), local(n4), konst(4), () => {
      f.get(a0).get(p).v128Load(0, 2).simd('f32x4.add').set(a0);
      f.get(p).i32(16).op('i32.add').set(p);
    });
    f.get(a0).get(a1).simd('f32x4.add').get(a2).get(a3).simd('f32x4.add').simd('f32x4.add').set(a0);
    f.get(a0).lane('f32x4.extract_lane', 0).get(a0).lane('f32x4.extract_lane', 1).op('f32.add');
    f.get(a0).lane('f32x4.extract_lane', 2).get(a0).lane('f32x4.extract_lane', 3).op('f32.add').op('f32.add').set(s);
    forLoop(f, i, local(n4), local(n), konst(1), () => {
      f.get(s).get(p).f32Load().op('f32.add').set(s);
      f.get(p).i32(4).op('i32.add').set(p);
    });
    f.get(y).get(r).i32(2).op('i32.shl').op('i32.add').get(s).get(scale).op('f32.mul').f32Store();
  });
  return f;
}

export type WasmRowMean = (x: number, rows: number, n: number, y: number, scale: number) => void;

const ROW_MEAN = 'f32_row_mean__wasmsimd';

export const ROW_MEAN_MODULE: WasmModuleSpec<WasmRowMean> = {
  key: 'reduce-rows',
  build(m) {
    m.addFunction(emitRowMean(), ROW_MEAN);
  },
  bind: (e) => e[ROW_MEAN] as WasmRowMean,
};
