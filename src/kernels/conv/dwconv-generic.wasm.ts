import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import type { WasmModuleSpec } from '../../wasm/context.js';
import { forLoop, konst, local, minInto } from '../../wasm/loops.js';

export const DWCONV_GENERIC_NAME = 'f32_dwconv_minmax_generic__wasmsimd';

/**
 * f32_dwconv_minmax_generic(x, y, w, bias, taps, T, Cg, Mg, G, H, W, OH, OW, sh, sw, ph, pw, padded, Hp, Wq, act,
 * lo, hi); pointers are byte offsets, lo/hi f32, the rest i32.
 */
export type WasmDwconvGenericKernel = (
  x: number, y: number, w: number, bias: number, taps: number, T: number, Cg: number, Mg: number, G: number,
  H: number, W: number, OH: number, OW: number, sh: number, sw: number, ph: number, pw: number, padded: number,
  Hp: number, Wq: number, act: number, lo: number, hi: number,
) => void;

const P = {
  x: 0, y: 1, w: 2, bias: 3, taps: 4, T: 5, Cg: 6, Mg: 7, G: 8, H: 9, W: 10, OH: 11, OW: 12, sh: 13, sw: 14, ph: 15,
  pw: 16, padded: 17, Hp: 18, Wq: 19, act: 20, lo: 21, hi: 22,
} as const;

/** Output vectors computed together per tap (four accumulators: 16 outputs per weight splat). */
const BLOCK = 4;

/**
 * One batch item of a grouped convolution with few input channels per group (depthwise: Cg = 1), any kernel,
 * stride, dilation and padding, in one call:
 *   y[m][oh][ow] = act(bias[m] + Σ_{t < T} w[m·T + t] · xpad[(S_h·oh)·rowP + taps[t] + ow]),  m = g·Mg + j,
 * T = Cg·KH·KW taps. The Cg input planes of group g are first copied into `padded` with their zero border and
 * split by column phase: padded column p = q·sw + r lands at phase r, index q, so the taps of consecutive
 * outputs are consecutive floats at every stride and one unaligned vector load serves four outputs. taps[t]
 * (i32, bytes) = c·plane + kh·dh·rowP + ((kw·dw) mod sw)·Wq·4 + ⌊kw·dw / sw⌋·4, computed at prepare.
 * Each row runs 16 outputs per step (four accumulators per weight splat), then 4, then the last 1–3 lanes one
 * by one. act = 1 clamps to [lo, hi] (pmax/pmin: NaN passes). The padded buffer holds Cg planes of
 * Hp × sw·Wq floats (Wq ≥ ⌈OW/4⌉·4 + ⌊(KW−1)·dw / sw⌋); it is zeroed once per call, and every plane writes
 * the same cells, so borders stay zero.
 */
export function emitDwconvGeneric(): FunctionBuilder {
  const f = new FunctionBuilder([...new Array<typeof I32>(21).fill(I32), F32, F32]);
  const acc: number[] = [];
  for (let j = 0; j < BLOCK; j++) acc.push(f.local(V128));
  const vb = f.local(V128), vw = f.local(V128), vlo = f.local(V128), vhi = f.local(V128);
  const g = f.local(I32), c = f.local(I32), ih = f.local(I32), r = f.local(I32), q = f.local(I32), qLo = f.local(I32);
  const qHi = f.local(I32), src = f.local(I32), dst = f.local(I32), j = f.local(I32), m = f.local(I32), oh = f.local(I32);
  const ow = f.local(I32), t = f.local(I32), p = f.local(I32), wm = f.local(I32), yRow = f.local(I32), rowP = f.local(I32);
  const rowBytesP = f.local(I32), planeBytesP = f.local(I32), rowsIn = f.local(I32), n = f.local(I32), tapEnd = f.local(I32);
  const planeIn = f.local(I32), left = f.local(I32);

  f.get(P.sw).get(P.Wq).op('i32.mul').i32(2).op('i32.shl').set(rowBytesP);
  f.get(P.Hp).get(rowBytesP).op('i32.mul').set(planeBytesP);
  f.get(P.H).get(P.W).op('i32.mul').i32(2).op('i32.shl').set(planeIn);
  f.get(P.taps).get(P.T).i32(2).op('i32.shl').op('i32.add').set(tapEnd);
  f.get(P.lo).simd('f32x4.splat').set(vlo);
  f.get(P.hi).simd('f32x4.splat').set(vhi);
  // Input rows that land inside the padded plane (the rest of it stays zero).
  minInto(f, rowsIn, local(P.H), (b) => b.get(P.Hp).get(P.ph).op('i32.sub'));
  // padded[0 .. Cg·plane) = 0
  f.get(P.Cg).get(planeBytesP).op('i32.mul').i32(2).op('i32.shr_u').set(n);
  forLoop(f, q, konst(0), local(n), konst(4), () => {
    f.get(P.padded).get(q).i32(2).op('i32.shl').op('i32.add').f32x4Const(0, 0, 0, 0).v128Store(0, 2);
  });
  forLoop(f, g, konst(0), local(P.G), konst(1), () => {
    // The group's Cg input planes into the padded planes, split by column phase.
    forLoop(f, c, konst(0), local(P.Cg), konst(1), () => {
      forLoop(f, ih, konst(0), local(rowsIn), konst(1), () => {
        forLoop(f, r, konst(0), local(P.sw), konst(1), () => {
          // Indices q of this phase with input column iw = q·sw + r − pw inside [0, W): [qLo, qHi) ∩ [0, Wq).
          f.get(P.pw).get(r).op('i32.sub').get(P.sw).op('i32.add').i32(1).op('i32.sub').get(P.sw).op('i32.div_u').set(qLo);
          f.get(P.W).get(P.pw).op('i32.add').get(r).op('i32.sub').get(P.sw).op('i32.add').i32(1).op('i32.sub').get(P.sw).op('i32.div_u').set(qHi);
          minInto(f, qHi, local(qHi), local(P.Wq));
          minInto(f, qLo, local(qLo), local(qHi));
          // src = x + planeIn·(g·Cg + c) + 4·(ih·W + qLo·sw + r − pw); dst = padded + c·planeP + (ih + ph)·rowP + 4·(r·Wq + qLo)
          f.get(P.x).get(g).get(P.Cg).op('i32.mul').get(c).op('i32.add').get(planeIn).op('i32.mul').op('i32.add');
          f.get(ih).get(P.W).op('i32.mul').get(qLo).get(P.sw).op('i32.mul').op('i32.add').get(r).op('i32.add').get(P.pw).op('i32.sub');
          f.i32(2).op('i32.shl').op('i32.add').set(src);
          f.get(P.padded).get(c).get(planeBytesP).op('i32.mul').op('i32.add').get(ih).get(P.ph).op('i32.add').get(rowBytesP).op('i32.mul').op('i32.add');
          f.get(r).get(P.Wq).op('i32.mul').get(qLo).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(dst);
          f.get(qHi).get(qLo).op('i32.sub').set(n);
          f.get(P.sw).i32(1).op('i32.eq').if();
          // Stride 1: a contiguous copy, four floats per step.
          f.i32(0).set(q);
          f.block().loop();
          f.get(q).i32(4).op('i32.add').get(n).op('i32.gt_s').brIf(1);
          f.get(dst).get(q).i32(2).op('i32.shl').op('i32.add').get(src).get(q).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).v128Store(0, 2);
          f.get(q).i32(4).op('i32.add').set(q).br(0);
          f.end().end();
          forLoop(f, q, local(q), local(n), konst(1), () => {
            f.get(dst).get(q).i32(2).op('i32.shl').op('i32.add').get(src).get(q).i32(2).op('i32.shl').op('i32.add').f32Load().f32Store();
          });
          f.else();
          forLoop(f, q, konst(0), local(n), konst(1), () => {
            f.get(dst).get(q).i32(2).op('i32.shl').op('i32.add');
            f.get(src).get(q).get(P.sw).op('i32.mul').i32(2).op('i32.shl').op('i32.add').f32Load();
            f.f32Store();
          });
          f.end();
        });
      });
    });
    // Each of the group's Mg output planes.
    forLoop(f, j, konst(0), local(P.Mg), konst(1), () => {
      f.get(g).get(P.Mg).op('i32.mul').get(j).op('i32.add').set(m);
      f.get(P.w).get(m).get(P.T).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(wm);
      f.f32x4Const(0, 0, 0, 0).set(vb);
      f.get(P.bias).if();
      f.get(P.bias).get(m).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 0).set(vb);
      f.end();
      forLoop(f, oh, konst(0), local(P.OH), konst(1), () => {
        f.get(P.padded).get(oh).get(P.sh).op('i32.mul').get(rowBytesP).op('i32.mul').op('i32.add').set(rowP);
        f.get(P.y).get(m).get(P.OH).op('i32.mul').get(oh).op('i32.add').get(P.OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yRow);
        f.i32(0).set(ow);
        // 16 outputs per step.
        f.block().loop();
        f.get(ow).i32(4 * BLOCK).op('i32.add').get(P.OW).op('i32.gt_s').brIf(1);
        emitTaps(f, BLOCK, { acc, vb, vw, t, p, wm, rowP, ow, taps: P.taps, tapEnd });
        for (let a = 0; a < BLOCK; a++) {
          emitClamp(f, acc[a]!, vlo, vhi);
          f.get(yRow).get(ow).i32(2).op('i32.shl').op('i32.add').get(acc[a]!).v128Store(16 * a, 2);
        }
        f.get(ow).i32(4 * BLOCK).op('i32.add').set(ow).br(0);
        f.end().end();
        // Then 4 per step.
        f.block().loop();
        f.get(ow).i32(4).op('i32.add').get(P.OW).op('i32.gt_s').brIf(1);
        emitTaps(f, 1, { acc, vb, vw, t, p, wm, rowP, ow, taps: P.taps, tapEnd });
        emitClamp(f, acc[0]!, vlo, vhi);
        f.get(yRow).get(ow).i32(2).op('i32.shl').op('i32.add').get(acc[0]!).v128Store(0, 2);
        f.get(ow).i32(4).op('i32.add').set(ow).br(0);
        f.end().end();
        // The last 1–3 outputs: a whole vector computed (its reads stay inside the padded row), lanes stored one by one.
        f.get(P.OW).get(ow).op('i32.sub').tee(left).if();
        emitTaps(f, 1, { acc, vb, vw, t, p, wm, rowP, ow, taps: P.taps, tapEnd });
        emitClamp(f, acc[0]!, vlo, vhi);
        for (let l = 0; l < 3; l++) {
          f.get(left).i32(l).op('i32.gt_s').if();
          f.get(yRow).get(ow).i32(2).op('i32.shl').op('i32.add').get(acc[0]!).lane('f32x4.extract_lane', l).f32Store(4 * l);
          f.end();
        }
        f.end();
      });
    });
  });
  return f;

  function emitClamp(b: FunctionBuilder, a: number, lo: number, hi: number): void {
    b.get(P.act).if();
    b.get(a).get(lo).simd('f32x4.pmax').get(hi).simd('f32x4.pmin').set(a);
    b.end();
  }
}

/** acc[0 .. count) = vb + Σ_t w[t] · xpad[rowP + taps[t] + 4·ow + 16·a] (a < count). */
function emitTaps(
  f: FunctionBuilder, count: number,
  l: { acc: number[]; vb: number; vw: number; t: number; p: number; wm: number; rowP: number; ow: number; taps: number; tapEnd: number },
): void {
  for (let a = 0; a < count; a++) f.get(l.vb).set(l.acc[a]!);
  // t walks the tap table (bytes); the weight of tap t is at wm + (t − taps).
  f.get(l.taps).set(l.t);
  f.block().loop();
  f.get(l.t).get(l.tapEnd).op('i32.ge_u').brIf(1);
  f.get(l.wm).get(l.t).op('i32.add').get(l.taps).op('i32.sub').simdMem('v128.load32_splat', 0).set(l.vw);
  f.get(l.rowP).get(l.t).i32Load().op('i32.add').get(l.ow).i32(2).op('i32.shl').op('i32.add').set(l.p);
  for (let a = 0; a < count; a++) {
    f.get(l.acc[a]!).get(l.p).v128Load(16 * a, 2).get(l.vw).simd('f32x4.mul').simd('f32x4.add').set(l.acc[a]!);
  }
  f.get(l.t).i32(4).op('i32.add').set(l.t).br(0);
  f.end().end();
}

/** The generic depthwise / grouped family, compiled on first use per context (`ctx.use(DWCONV_GENERIC_WASM)`). */
export const DWCONV_GENERIC_WASM: WasmModuleSpec<WasmDwconvGenericKernel> = {
  key: 'dwconv-generic',
  build(m: ModuleBuilder): void {
    m.addFunction(emitDwconvGeneric(), DWCONV_GENERIC_NAME);
  },
  bind: (e) => e[DWCONV_GENERIC_NAME] as WasmDwconvGenericKernel,
};
