import { FunctionBuilder, I32, type ModuleBuilder } from '../../wasm/emitter.js';
import type { WasmModuleSpec } from '../../wasm/context.js';
import { forLoop, konst, local } from '../../wasm/loops.js';
import type { ConvProblem } from './reference.js';

export const IM2COL_2D_NAME = 'f32_im2col_2d__wasmsimd';

/** Byte lanes picking the even f32 lanes of two vectors (a ++ b): [a0 a2 b0 b2]. */
const EVEN_F32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/** f32_im2col_2d(x, col, C, H, W, KH, KW, sh, sw, dh, dw, ph, pw, OW, r0, rows); all byte pointers / i32. */
export type WasmIm2colKernel = (
  x: number, col: number, C: number, H: number, W: number, KH: number, KW: number, sh: number, sw: number,
  dh: number, dw: number, ph: number, pw: number, OW: number, r0: number, rows: number,
) => void;

export interface WasmIm2col {
  readonly im2col: WasmIm2colKernel;
}

/**
 * f32_im2col_2d__wasmsimd: the column matrix of a 2-D convolution for output rows r0 .. r0 + rows − 1,
 *   col[((c·KH + kh)·KW + kw)·rows·OW + r·OW + ow] = x[c·H·W + ih·W + iw],  ih = (r0 + r)·sh − ph + kh·dh,
 *   iw = ow·sw − pw + kw·dw, and 0 where (ih, iw) is outside the H×W plane.
 * Per tap, the in-range columns [owLo, owHi) are found once; each row is then zeros, a copy, zeros: four
 * floats per step for stride 1 (unaligned loads) and stride 2 (two loads, even lanes; only while the eight
 * floats read stay inside the input row), one at a time otherwise. x and col are byte offsets.
 */
export function emitIm2col2d(): FunctionBuilder {
  const f = new FunctionBuilder(new Array<typeof I32>(16).fill(I32));
  const [x, col, C, H, W, KH, KW, sh, sw, dh, dw, ph, pw, OW, r0, rows] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const c = f.local(I32), kh = f.local(I32), kw = f.local(I32), r = f.local(I32), dst = f.local(I32), xc = f.local(I32);
  const shift = f.local(I32), owLo = f.local(I32), owHi = f.local(I32), ih = f.local(I32), src = f.local(I32);
  const i = f.local(I32), iMax = f.local(I32), rowBytes = f.local(I32), t = f.local(I32);

  f.get(OW).i32(2).op('i32.shl').set(rowBytes);
  f.get(col).set(dst);
  forLoop(f, c, konst(0), local(C), konst(1), () => {
    f.get(x).get(c).get(H).op('i32.mul').get(W).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(xc);
    forLoop(f, kh, konst(0), local(KH), konst(1), () => {
      forLoop(f, kw, konst(0), local(KW), konst(1), () => {
        emitTapRange(f, { kw, dw, pw, sw, W, OW, shift, owLo, owHi, t });
        // iMax: the last stride-2 vector start i with shift + 2i + 7 ≤ W − 1 (arithmetic shift = floor).
        f.get(W).i32(8).op('i32.sub').get(shift).op('i32.sub').i32(1).op('i32.shr_s').set(iMax);
        forLoop(f, r, konst(0), local(rows), konst(1), () => {
          // ih = (r0 + r)·sh − ph + kh·dh; outside [0, H) (one unsigned compare): a zero row.
          f.get(r0).get(r).op('i32.add').get(sh).op('i32.mul').get(ph).op('i32.sub').get(kh).get(dh).op('i32.mul').op('i32.add').tee(ih);
          f.get(H).op('i32.ge_u').if();
          emitZero(f, dst, konst(0), local(OW), i);
          f.else();
          // src = xc + 4·(ih·W + shift): the input float of ow is src + 4·ow·sw.
          f.get(xc).get(ih).get(W).op('i32.mul').get(shift).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(src);
          emitZero(f, dst, konst(0), local(owLo), i);
          emitCopy(f, { dst, src, owLo, owHi, sw, iMax, i });
          emitZero(f, dst, local(owHi), local(OW), i);
          f.end();
          f.get(dst).get(rowBytes).op('i32.add').set(dst);
        });
      });
    });
  });
  return f;
}

/**
 * shift = kw·dw − pw; [owLo, owHi) = the output columns whose tap lands inside the row, 0 ≤ ow·sw + shift < W:
 * owLo = ⌈−shift / sw⌉ (0 when shift ≥ 0), owHi = ⌈(W − shift) / sw⌉, both clamped to [0, OW], owHi ≥ owLo.
 */
export function emitTapRange(
  f: FunctionBuilder,
  l: { kw: number; dw: number; pw: number; sw: number; W: number; OW: number; shift: number; owLo: number; owHi: number; t: number },
): void {
  f.get(l.kw).get(l.dw).op('i32.mul').get(l.pw).op('i32.sub').set(l.shift);
  f.i32(0).set(l.owLo);
  f.get(l.shift).i32(0).op('i32.lt_s').if();
  f.i32(0).get(l.shift).op('i32.sub').get(l.sw).op('i32.add').i32(1).op('i32.sub').get(l.sw).op('i32.div_u').set(l.owLo);
  f.end();
  clampInto(f, l.owLo, l.OW);
  f.get(l.W).get(l.shift).op('i32.sub').set(l.t);
  f.i32(0).set(l.owHi);
  f.get(l.t).i32(0).op('i32.gt_s').if();
  f.get(l.t).get(l.sw).op('i32.add').i32(1).op('i32.sub').get(l.sw).op('i32.div_u').set(l.owHi);
  f.end();
  clampInto(f, l.owHi, l.OW);
  // owHi = max(owHi, owLo)
  f.get(l.owHi).get(l.owLo).get(l.owHi).get(l.owLo).op('i32.gt_s').select().set(l.owHi);
}

/** v = min(v, limit) for two i32 locals. */
function clampInto(f: FunctionBuilder, v: number, limit: number): void {
  f.get(v).get(limit).get(v).get(limit).op('i32.lt_s').select().set(v);
}

/** dst[from .. to) = 0 (floats): four per step, then one at a time. */
function emitZero(f: FunctionBuilder, dst: number, from: (f: FunctionBuilder) => void, to: (f: FunctionBuilder) => void, i: number): void {
  from(f);
  f.set(i);
  f.block().loop();
  f.get(i).i32(4).op('i32.add');
  to(f);
  f.op('i32.gt_s').brIf(1);
  f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').f32x4Const(0, 0, 0, 0).v128Store(0, 2);
  f.get(i).i32(4).op('i32.add').set(i).br(0);
  f.end().end();
  forLoop(f, i, local(i), to, konst(1), () => {
    f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add').f32(0).f32Store();
  });
}

/** dst[ow] = src[ow·sw] for ow in [owLo, owHi): vectors for sw = 1 and sw = 2 (while i ≤ iMax), scalars after. */
function emitCopy(f: FunctionBuilder, l: { dst: number; src: number; owLo: number; owHi: number; sw: number; iMax: number; i: number }): void {
  const { dst, src, owLo, owHi, sw, iMax, i } = l;
  const dstAt = () => f.get(dst).get(i).i32(2).op('i32.shl').op('i32.add');
  f.get(owLo).set(i);
  f.get(sw).i32(1).op('i32.eq').if();
  f.block().loop();
  f.get(i).i32(4).op('i32.add').get(owHi).op('i32.gt_s').brIf(1);
  dstAt();
  f.get(src).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).v128Store(0, 2);
  f.get(i).i32(4).op('i32.add').set(i).br(0);
  f.end().end();
  f.end();
  f.get(sw).i32(2).op('i32.eq').if();
  f.block().loop();
  f.get(i).i32(4).op('i32.add').get(owHi).op('i32.gt_s').brIf(1);
  f.get(i).get(iMax).op('i32.gt_s').brIf(1);
  dstAt();
  f.get(src).get(i).i32(3).op('i32.shl').op('i32.add').v128Load(0, 2);
  f.get(src).get(i).i32(3).op('i32.shl').op('i32.add').v128Load(16, 2);
  f.shuffle(EVEN_F32).v128Store(0, 2);
  f.get(i).i32(4).op('i32.add').set(i).br(0);
  f.end().end();
  f.end();
  forLoop(f, i, local(i), local(owHi), konst(1), () => {
    dstAt();
    f.get(src).get(i).get(sw).op('i32.mul').i32(2).op('i32.shl').op('i32.add').f32Load().f32Store();
  });
}

/** The im2col kernel family, compiled on first use per context (`ctx.use(IM2COL_WASM)`). */
export const IM2COL_WASM: WasmModuleSpec<WasmIm2col> = {
  key: 'conv-im2col',
  build(m: ModuleBuilder): void {
    m.addFunction(emitIm2col2d(), IM2COL_2D_NAME);
  },
  bind(exports: Record<string, unknown>): WasmIm2col {
    return { im2col: exports[IM2COL_2D_NAME] as WasmIm2colKernel };
  },
};

/** True for the problems the wasm im2col computes: 2-D (depth 1, kernel depth 1). */
export function im2colWasmApplies(p: ConvProblem): boolean {
  return p.geo.inSize[0] === 1 && p.geo.kernel[0] === 1;
}

/**
 * The wasm twin of im2colRows for 2-D problems: the column tile of output rows r0 .. r0 + rows − 1 of the Cg
 * channels at x[xBase], written to col[0 ..). Returns false, doing nothing, when x or col is not a view of the
 * context's memory (the caller then runs the JS copy).
 */
export function wasmIm2colRows(
  k: WasmIm2col, memory: WebAssembly.Memory, p: ConvProblem, x: Float32Array, xBase: number, Cg: number, r0: number,
  rows: number, col: Float32Array,
): boolean {
  if (x.buffer !== memory.buffer || col.buffer !== memory.buffer) return false;
  (k.im2col as (...a: number[]) => void)(...im2colRowsArgs(p, x.byteOffset + 4 * xBase, Cg, r0, rows, col.byteOffset));
  return true;
}

/** The arguments of k.im2col for output rows [r0, r0 + rows) of Cg channels at byte x into the column tile at byte col. */
export function im2colRowsArgs(p: ConvProblem, x: number, Cg: number, r0: number, rows: number, col: number): number[] {
  const g = p.geo;
  return [
    x, col, Cg, g.inSize[1]!, g.inSize[2]!, g.kernel[1]!, g.kernel[2]!, g.strides[1]!, g.strides[2]!, g.dilations[1]!,
    g.dilations[2]!, g.padsBegin[1]!, g.padsBegin[2]!, g.outSize[2]!, r0, rows,
  ];
}
