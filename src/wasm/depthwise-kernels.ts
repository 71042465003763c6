import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

export const DW3X3S1_NAME = 'f32_dwconv_3x3s1_interior__wasmsimd';

/**
 * f32_dwconv_3x3s1_interior(x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw, b, w0..w8): one plane of a
 * depthwise 3×3 stride-1 (dilation 1) convolution over its interior outputs (every tap inside the input):
 *   y[oh·OW + ow] = b + Σ_{kh,kw} w[kh·3 + kw] · x[(oh − ph + kh)·W + ow − pw + kw]
 * for oh in [rowLo, rowHi), ow in [colLo, colHi); x and y are byte offsets of the planes. Four outputs per step:
 * the three taps of a row are three unaligned vector loads one float apart. The border stays with the caller.
 */
export function emitDepthwise3x3s1(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32]);
  const [x, W, y, OW, rowLo, rowHi, colLo, colHi, ph, pw, b] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const w = (t: number) => 11 + t;
  const vw: number[] = [];
  for (let t = 0; t < 9; t++) vw.push(f.local(V128));
  const vb = f.local(V128), acc = f.local(V128), s = f.local(F32);
  const oh = f.local(I32), r0 = f.local(I32), yi = f.local(I32), i = f.local(I32), n = f.local(I32), vn = f.local(I32);
  const rowBytes = f.local(I32);
  for (let t = 0; t < 9; t++) f.get(w(t)).simd('f32x4.splat').set(vw[t]!);
  f.get(b).simd('f32x4.splat').set(vb);
  f.get(W).i32(2).op('i32.shl').set(rowBytes);
  f.get(colHi).get(colLo).op('i32.sub').tee(n).i32(-4).op('i32.and').set(vn);
  forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
    // r0 = x + 4·((oh − ph)·W + colLo − pw); yi = y + 4·(oh·OW + colLo)
    f.get(x).get(oh).get(ph).op('i32.sub').get(W).op('i32.mul').get(colLo).op('i32.add').get(pw).op('i32.sub')
      .i32(2).op('i32.shl').op('i32.add').set(r0);
    f.get(y).get(oh).get(OW).op('i32.mul').get(colLo).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(yi);
    forLoop(f, i, konst(0), local(vn), konst(4), () => {
      f.get(vb).set(acc);
      for (let kh = 0; kh < 3; kh++) {
        for (let kw = 0; kw < 3; kw++) {
          f.get(acc).get(r0).get(i).i32(2).op('i32.shl').op('i32.add');
          if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
          f.v128Load(4 * kw, 2).get(vw[kh * 3 + kw]!).simd('f32x4.mul').simd('f32x4.add').set(acc);
        }
      }
      f.get(yi).get(i).i32(2).op('i32.shl').op('i32.add').get(acc).v128Store(0, 2);
    });
    forLoop(f, i, local(vn), local(n), konst(1), () => {
      f.get(b).set(s);
      for (let kh = 0; kh < 3; kh++) {
        for (let kw = 0; kw < 3; kw++) {
          f.get(s).get(r0).get(i).i32(2).op('i32.shl').op('i32.add');
          if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
          f.f32Load(4 * kw).get(w(kh * 3 + kw)).op('f32.mul').op('f32.add').set(s);
        }
      }
      f.get(yi).get(i).i32(2).op('i32.shl').op('i32.add').get(s).f32Store();
    });
  });
  return f;
}

export function addDepthwiseKernels(m: ModuleBuilder): void {
  m.addFunction(emitDepthwise3x3s1(), DW3X3S1_NAME);
}
