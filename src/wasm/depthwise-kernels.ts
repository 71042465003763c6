import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { forLoop, konst, local, minInto } from './loops.js';

export const DW3X3S1_NAME = 'f32_dwconv_3x3s1_interior__wasmsimd';
export const DW3X3S2_NAME = 'f32_dwconv_3x3s2_interior__wasmsimd';
export const DW5X5S1_NAME = 'f32_dwconv_5x5s1_interior__wasmsimd';
export const DW5X5S2_NAME = 'f32_dwconv_5x5s2_interior__wasmsimd';

/** Byte lanes picking the even / odd f32 lanes of two vectors (a ++ b): [a0 a2 b0 b2] / [a1 a3 b1 b3]. */
const EVEN_F32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_F32 = EVEN_F32.map((l) => l + 4);

/**
 * f32_dwconv_{K}x{K}s{S}_interior(x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw, b, w0..w{K²−1}): one plane of
 * a depthwise K×K convolution (K = 3, 5 or 7; taps `dilation` apart, stride 1 only when dilated) with stride S (1 or 2, dilation 1) over its interior outputs:
 *   y[oh·OW + ow] = b + Σ_{kh,kw} w[kh·K + kw] · x[(S·oh − ph + kh)·W + S·ow − pw + kw]
 * for oh in [rowLo, rowHi), ow in [colLo, colHi); x and y are byte offsets of the planes. Four outputs per step.
 * Stride 1: a row's K taps are K unaligned loads one float apart. Stride 2: two loads at c + e give
 * x[c+e .. c+e+7], whose even lanes are tap e and odd lanes tap e + 1 (e even); the last pair reads up to
 * x[c + 2⌊(K−1)/2⌋ + 7], so a step runs vectorized only when that stays inside its row.
 * The border stays with the caller.
 */
export function emitDepthwise(K: 3 | 5 | 7, stride: 1 | 2, dilation = 1): FunctionBuilder {
  if (dilation !== 1 && stride !== 1) throw new RangeError('emitDepthwise: dilation needs stride 1');
  const d = dilation;
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
      if (kh > 0) f.get(rowBytes).i32(kh * d).op('i32.mul').op('i32.add');
      f.set(p);
      if (stride === 1) {
        for (let kw = 0; kw < K; kw++) {
          f.get(acc).get(p).v128Load(4 * kw * d, 2).get(vw[kh * K + kw]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
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
          if (kh > 0) f.get(rowBytes).i32(kh * d).op('i32.mul').op('i32.add');
          f.f32Load(4 * kw * d).get(w(kh * K + kw)).op('f32.mul').op('f32.add').set(s);
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

export function depthwiseLayerName(stride: 1 | 2): string {
  return `f32_dwconv_3x3s${stride}_layer_minmax__wasmsimd`;
}

/** Parameter indices of the layer kernel. */
const DL = {
  x: 0, y: 1, w: 2, bias: 3, M: 4, mult: 5, H: 6, W: 7, OH: 8, OW: 9, ph: 10, pw: 11, padded: 12, Hp: 13, Wp: 14,
  act: 15, lo: 16, hi: 17,
} as const;

/**
 * f32_dwconv_3x3s{S}_layer_minmax(x, y, w, bias, M, mult, H, W, OH, OW, ph, pw, padded, Hp, Wp, act, lo, hi):
 * a whole depthwise 3×3 layer (stride S = 1 or 2, dilation 1, depth multiplier `mult`, M output planes) in one
 * call, as NCNN pads before its depthwise kernels:
 *   y[m][oh][ow] = act(bias[m] + Σ_{kh,kw} w[9m + 3kh + kw] · xpad[m / mult][S·oh + kh][S·ow + kw]),
 * xpad being the input plane copied at (ph, pw) into the zeroed Hp×Wp plane `padded` (once per input plane);
 * act = 1 clamps to [lo, hi] with pmax/pmin (NaN passes), 0 leaves it. w (9·M floats) and bias (M floats, or
 * 0 for none) are in memory. Four outputs per step, rows rounded up to whole vectors: the extra lanes land in
 * the next outputs, which are written afterwards, except where the vector would end past Y: there only the
 * lanes inside the row are stored. So Wp ≥ S·⌈OW/4⌉·4 + 2 (the rounded-up steps read inside the padded row) and
 * Hp ≥ S·(OH − 1) + 3. All pointers are byte offsets.
 */
export function emitDepthwiseLayer(stride: 1 | 2): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32]);
  const vw: number[] = [];
  for (let t = 0; t < 9; t++) vw.push(f.local(V128));
  const vb = f.local(V128), acc = f.local(V128), vlo = f.local(V128), vhi = f.local(V128), lo = f.local(V128), hi = f.local(V128);
  const m = f.local(I32), oh = f.local(I32), i = f.local(I32), r = f.local(I32), p = f.local(I32), yRow = f.local(I32);
  const yPlane = f.local(I32), rowBytes = f.local(I32), yEnd = f.local(I32), n = f.local(I32), src = f.local(I32), dst = f.local(I32);
  const rowsIn = f.local(I32), colsIn = f.local(I32), rowSrcBytes = f.local(I32), planeBytes = f.local(I32);

  f.get(DL.Wp).i32(2).op('i32.shl').set(rowBytes);
  f.get(DL.W).i32(2).op('i32.shl').set(rowSrcBytes);
  f.get(DL.y).get(DL.M).get(DL.OH).op('i32.mul').get(DL.OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yEnd);
  f.get(DL.H).get(DL.W).op('i32.mul').i32(2).op('i32.shl').set(planeBytes);
  f.get(DL.lo).simd('f32x4.splat').set(vlo);
  f.get(DL.hi).simd('f32x4.splat').set(vhi);
  // The input rows and columns that land inside the padded plane; the rest of it stays zero.
  minInto(f, rowsIn, local(DL.H), (g) => g.get(DL.Hp).get(DL.ph).op('i32.sub'));
  minInto(f, colsIn, local(DL.W), (g) => g.get(DL.Wp).get(DL.pw).op('i32.sub'));
  // padded = 0
  f.get(DL.Hp).get(DL.Wp).op('i32.mul').set(n);
  emitZeroFloats(f, DL.padded, n, i);
  forLoop(f, m, konst(0), local(DL.M), konst(1), () => {
    // A new input plane every `mult` outputs: copy its rows into the padded plane.
    f.get(m).get(DL.mult).op('i32.rem_u').op('i32.eqz').if();
    // src = x + (m / mult)·H·W·4; dst = padded + 4·(ph·Wp + pw)
    f.get(DL.x).get(m).get(DL.mult).op('i32.div_u').get(planeBytes).op('i32.mul').op('i32.add').set(src);
    f.get(DL.padded).get(DL.ph).get(DL.Wp).op('i32.mul').get(DL.pw).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(dst);
    forLoop(f, r, konst(0), local(rowsIn), konst(1), () => {
      emitCopyFloats(f, src, dst, colsIn, i);
      f.get(src).get(rowSrcBytes).op('i32.add').set(src);
      f.get(dst).get(rowBytes).op('i32.add').set(dst);
    });
    f.end();
    // Weights and bias of plane m as splats.
    for (let t = 0; t < 9; t++) f.get(DL.w).get(m).i32(36).op('i32.mul').op('i32.add').simdMem('v128.load32_splat', 4 * t).set(vw[t]!);
    f.f32x4Const(0, 0, 0, 0).set(vb);
    f.get(DL.bias).if();
    f.get(DL.bias).get(m).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0).set(vb);
    f.end();
    f.get(DL.y).get(m).get(DL.OH).op('i32.mul').get(DL.OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yPlane);
    forLoop(f, oh, konst(0), local(DL.OH), konst(1), () => {
      f.get(DL.padded).get(oh).i32(stride).op('i32.mul').get(rowBytes).op('i32.mul').op('i32.add').set(r);
      f.get(yPlane).get(oh).get(DL.OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yRow);
      forLoop(f, i, konst(0), local(DL.OW), konst(4), () => {
        f.get(vb).set(acc);
        for (let kh = 0; kh < 3; kh++) {
          // p = r + kh·rowBytes + 4·S·i
          f.get(r).get(i).i32(stride === 1 ? 2 : 3).op('i32.shl').op('i32.add');
          if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
          f.set(p);
          if (stride === 1) {
            for (let kw = 0; kw < 3; kw++) f.get(acc).get(p).v128Load(4 * kw, 2).get(vw[kh * 3 + kw]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
          } else {
            f.get(p).v128Load(0, 2).set(lo).get(p).v128Load(16, 2).set(hi);
            f.get(acc).get(lo).get(hi).shuffle(EVEN_F32).get(vw[kh * 3]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
            f.get(acc).get(lo).get(hi).shuffle(ODD_F32).get(vw[kh * 3 + 1]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
            f.get(p).v128Load(8, 2).set(lo).get(p).v128Load(24, 2).set(hi);
            f.get(acc).get(lo).get(hi).shuffle(EVEN_F32).get(vw[kh * 3 + 2]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
          }
        }
        f.get(DL.act).if();
        f.get(acc).get(vlo).simd('f32x4.pmax').get(vhi).simd('f32x4.pmin').set(acc);
        f.end();
        // A whole vector unless it would end past Y (then only its lanes inside the row, at most three).
        f.get(yRow).get(i).i32(2).op('i32.shl').op('i32.add').i32(16).op('i32.add').get(yEnd).op('i32.gt_u').if();
        for (let l = 0; l < 3; l++) {
          f.get(i).i32(l).op('i32.add').get(DL.OW).op('i32.lt_s').if();
          f.get(yRow).get(i).i32(2).op('i32.shl').op('i32.add').get(acc).lane('f32x4.extract_lane', l).f32Store(4 * l);
          f.end();
        }
        f.else();
        f.get(yRow).get(i).i32(2).op('i32.shl').op('i32.add').get(acc).v128Store(0, 2);
        f.end();
      });
    });
  });
  return f;
}

/** dst[0 .. n) = 0 (floats at byte offset dst): four per step, then one at a time. */
function emitZeroFloats(f: FunctionBuilder, dst: number, n: number, i: number): void {
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(4).op('i32.add').get(n).op('i32.gt_s').brIf(1);
  f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').f32x4Const(0, 0, 0, 0).v128Store(0, 2);
  f.get(i).i32(4).op('i32.add').set(i).br(0);
  f.end().end();
  forLoop(f, i, local(i), local(n), konst(1), () => void f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').f32(0).f32Store());
}

/** dst[0 .. n) = src[0 .. n) (floats at byte offsets): four per step, then one at a time. */
function emitCopyFloats(f: FunctionBuilder, src: number, dst: number, n: number, i: number): void {
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(4).op('i32.add').get(n).op('i32.gt_s').brIf(1);
  f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').get(src).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).v128Store(0, 2);
  f.get(i).i32(4).op('i32.add').set(i).br(0);
  f.end().end();
  forLoop(f, i, local(i), local(n), konst(1), () => {
    f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').get(src).get(i).i32(2).op('i32.shl').op('i32.add').f32Load().f32Store();
  });
}
