import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

export const DW3X3S1_NAME = 'f32_dwconv_3x3s1_interior__wasmsimd';
export const DW3X3S2_NAME = 'f32_dwconv_3x3s2_interior__wasmsimd';
export const DW5X5S1_NAME = 'f32_dwconv_5x5s1_interior__wasmsimd';
export const DW5X5S2_NAME = 'f32_dwconv_5x5s2_interior__wasmsimd';

/** Byte lanes picking the even / odd f32 lanes of two vectors (a ++ b): [a0 a2 b0 b2] / [a1 a3 b1 b3]. */
const EVEN_F32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_F32 = EVEN_F32.map((l) => l + 4);

/**
 * f32_dwconv_{K}x{K}s{S}_interior(x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw, b, w0..w{K²−1}): one plane of
 * a depthwise K×K convolution (K = 3 or 5) with stride S (1 or 2, dilation 1) over its interior outputs:
 *   y[oh·OW + ow] = b + Σ_{kh,kw} w[kh·K + kw] · x[(S·oh − ph + kh)·W + S·ow − pw + kw]
 * for oh in [rowLo, rowHi), ow in [colLo, colHi); x and y are byte offsets of the planes. Four outputs per step.
 * Stride 1: a row's K taps are K unaligned loads one float apart. Stride 2: two loads at c + e give
 * x[c+e .. c+e+7], whose even lanes are tap e and odd lanes tap e + 1 (e even); the last pair reads up to
 * x[c + 2⌊(K−1)/2⌋ + 7], so a step runs vectorized only when that stays inside its row.
 * The border stays with the caller.
 */
export function emitDepthwise(K: 3 | 5, stride: 1 | 2): FunctionBuilder {
  const KK = K * K;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, ...new Array<typeof F32>(KK).fill(F32)]);
  const [x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw, b] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const w = (t: number) => 11 + t;
  const vw: number[] = [];
  for (let t = 0; t < KK; t++) vw.push(f.local(V128));
  const vb = f.local(V128), acc = f.local(V128), s = f.local(F32);
  const oh = f.local(I32), r0 = f.local(I32), yi = f.local(I32), i = f.local(I32), n = f.local(I32), iMax = f.local(I32);
  const rowBytes = f.local(I32), p = f.local(I32), lo = f.local(V128), hi = f.local(V128);
  for (let t = 0; t < KK; t++) f.get(w(t)).simd('f32x4.splat').set(vw[t]!);
  f.get(b).simd('f32x4.splat').set(vb);
  f.get(W).i32(2).op('i32.shl').set(rowBytes);
  f.get(colHi).get(colLo).op('i32.sub').set(n);
  // Last vector step start: stride 1 reads only the taps of its outputs (always inside); stride 2 reads up to
  // x[c + last], last = 2⌊(K−1)/2⌋ + 7, with c = 2·(colLo + i) − pw, so it needs c + last ≤ W − 1, i.e.
  // i ≤ ⌊(W − 1 − last + pw − 2·colLo) / 2⌋ (arithmetic shift = floor).
  const last = 2 * Math.floor((K - 1) / 2) + 7;
  if (stride === 1) f.get(n).set(iMax);
  else f.get(W).i32(1 + last).op('i32.sub').get(pw).op('i32.add').get(colLo).i32(1).op('i32.shl').op('i32.sub').i32(1).op('i32.shr_s').set(iMax);
  forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
    // r0 = x + 4·((S·oh − ph)·W + S·colLo − pw); yi = y + 4·(oh·OW + colLo)
    f.get(x).get(oh);
    if (stride === 2) f.i32(1).op('i32.shl');
    f.get(ph).op('i32.sub').get(W).op('i32.mul').get(colLo);
    if (stride === 2) f.i32(1).op('i32.shl');
    f.op('i32.add').get(pw).op('i32.sub').i32(2).op('i32.shl').op('i32.add').set(r0);
    f.get(y).get(oh).get(OW).op('i32.mul').get(colLo).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(yi);
    f.i32(0).set(i);
    f.block().loop();
    f.get(i).i32(4).op('i32.add').get(n).op('i32.gt_s').brIf(1);
    f.get(i).get(iMax).op('i32.gt_s').brIf(1);
    f.get(vb).set(acc);
    for (let kh = 0; kh < K; kh++) {
      // p = r0 + kh·rowBytes + S·4·i
      f.get(r0).get(i).i32(stride === 1 ? 2 : 3).op('i32.shl').op('i32.add');
      if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
      f.set(p);
      if (stride === 1) {
        for (let kw = 0; kw < K; kw++) {
          f.get(acc).get(p).v128Load(4 * kw, 2).get(vw[kh * K + kw]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
        }
      } else {
        for (let e = 0; e < K; e += 2) {
          f.get(p).v128Load(4 * e, 2).set(lo).get(p).v128Load(4 * e + 16, 2).set(hi);
          f.get(acc).get(lo).get(hi).shuffle(EVEN_F32).get(vw[kh * K + e]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
          if (e + 1 < K) f.get(acc).get(lo).get(hi).shuffle(ODD_F32).get(vw[kh * K + e + 1]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
        }
      }
    }
    f.get(yi).get(i).i32(2).op('i32.shl').op('i32.add').get(acc).v128Store(0, 2);
    f.get(i).i32(4).op('i32.add').set(i).br(0);
    f.end().end();
    // Scalar rest: the outputs [i, n) of this row.
    forLoop(f, i, local(i), local(n), konst(1), () => {
      f.get(b).set(s);
      for (let kh = 0; kh < K; kh++) {
        for (let kw = 0; kw < K; kw++) {
          f.get(s).get(r0).get(i).i32(stride === 1 ? 2 : 3).op('i32.shl').op('i32.add');
          if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
          f.f32Load(4 * kw).get(w(kh * K + kw)).op('f32.mul').op('f32.add').set(s);
        }
      }
      f.get(yi).get(i).i32(2).op('i32.shl').op('i32.add').get(s).f32Store();
    });
  });
  return f;
}

export function addDepthwiseKernels(m: ModuleBuilder): void {
  m.addFunction(emitDepthwise(3, 1), DW3X3S1_NAME);
  m.addFunction(emitDepthwise(3, 2), DW3X3S2_NAME);
  m.addFunction(emitDepthwise(5, 1), DW5X5S1_NAME);
  m.addFunction(emitDepthwise(5, 2), DW5X5S2_NAME);
}
