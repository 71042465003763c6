import { FunctionBuilder, I32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import type { WasmModuleSpec } from '../../wasm/context.js';
import { forLoop, konst, local } from '../../wasm/loops.js';
import { emitTapRange } from './im2col-wasm.js';

export const COL2IM_NAME = 'f32_col2im_add__wasmsimd';

/**
 * f32_col2im_add(col, y, Mg, KH, KW, rows, W, r0, OH, OW, sh, sw, dh, dw, ph, pw, colM, yM); pointers and the
 * strides colM / yM are bytes.
 */
export type WasmCol2imKernel = (
  col: number, y: number, Mg: number, KH: number, KW: number, rows: number, W: number, r0: number, OH: number,
  OW: number, sh: number, sw: number, dh: number, dw: number, ph: number, pw: number, colM: number, yM: number,
) => void;

const P = {
  col: 0, y: 1, Mg: 2, KH: 3, KW: 4, rows: 5, W: 6, r0: 7, OH: 8, OW: 9, sh: 10, sw: 11, dh: 12, dw: 13, ph: 14, pw: 15,
  colM: 16, yM: 17,
} as const;

/** Byte lanes interleaving the low / high halves of a vector with zeros (a ++ 0): [a0 0 a1 0] / [a2 0 a3 0]. */
const LOW_WITH_ZEROS = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
const HIGH_WITH_ZEROS = LOW_WITH_ZEROS.map((l) => (l < 16 ? l + 8 : l));

/**
 * The scatter half of ConvTranspose as GEMM + col2im, for input rows r0 .. r0 + rows − 1 of one group:
 *   y[m][ih·sh − ph + kh·dh][iw·sw − pw + kw·dw] += col[m·colM + (kh·KW + kw)·rows·W + (ih − r0)·W + iw]
 * wherever the output lands inside the OH×OW plane; channel m's plane starts at y + m·yM (bytes; 2-D: colM =
 * KH·KW·rows·W·4, yM = OH·OW·4; a 3-D caller passes one depth tap's rows and planes of its output depth). Per tap the input columns
 * [iwLo, iwHi) that land inside a row are found once; a row then adds four floats per step at stride 1
 * (unaligned loads and stores), four at stride 2 (the col vector spread over two Y vectors with zeros between,
 * while the eight floats touched stay inside the output row), one at a time otherwise.
 */
export function emitCol2imAdd(): FunctionBuilder {
  const f = new FunctionBuilder(new Array<typeof I32>(18).fill(I32));
  const m = f.local(I32), kh = f.local(I32), kw = f.local(I32), r = f.local(I32), ci = f.local(I32), ym = f.local(I32);
  const shift = f.local(I32), iwLo = f.local(I32), iwHi = f.local(I32), t = f.local(I32), oh = f.local(I32), yr = f.local(I32);
  const cr = f.local(I32), i = f.local(I32), iMax = f.local(I32), planeBytes = f.local(I32), len = f.local(I32), zero = f.local(V128);
  const v = f.local(V128);

  f.f32x4Const(0, 0, 0, 0).set(zero);
  f.get(P.yM).set(planeBytes);
  f.get(P.rows).get(P.W).op('i32.mul').i32(2).op('i32.shl').set(len);
  forLoop(f, m, konst(0), local(P.Mg), konst(1), () => {
    f.get(P.y).get(m).get(planeBytes).op('i32.mul').op('i32.add').set(ym);
    f.get(P.col).get(m).get(P.colM).op('i32.mul').op('i32.add').set(ci);
    forLoop(f, kh, konst(0), local(P.KH), konst(1), () => {
      forLoop(f, kw, konst(0), local(P.KW), konst(1), () => {
        // The roles of im2col's tap range swap: input columns iw whose output iw·sw + shift lands in [0, OW).
        emitTapRange(f, { kw, dw: P.dw, pw: P.pw, sw: P.sw, W: P.OW, OW: P.W, shift, owLo: iwLo, owHi: iwHi, t });
        // Stride 2: the last vector start iw with 2·iw + shift + 7 ≤ OW − 1.
        f.get(P.OW).i32(8).op('i32.sub').get(shift).op('i32.sub').i32(1).op('i32.shr_s').set(iMax);
        forLoop(f, r, konst(0), local(P.rows), konst(1), () => {
          // oh = (r0 + r)·sh − ph + kh·dh, skipped outside [0, OH) (one unsigned compare).
          f.get(P.r0).get(r).op('i32.add').get(P.sh).op('i32.mul').get(P.ph).op('i32.sub').get(kh).get(P.dh).op('i32.mul').op('i32.add').tee(oh);
          f.get(P.OH).op('i32.lt_u').if();
          // yr = ym + 4·(oh·OW + shift): the output float of iw is yr + 4·iw·sw; cr = ci + 4·r·W.
          f.get(ym).get(oh).get(P.OW).op('i32.mul').get(shift).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(yr);
          f.get(ci).get(r).get(P.W).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(cr);
          f.get(iwLo).set(i);
          f.get(P.sw).i32(1).op('i32.eq').if();
          f.block().loop();
          f.get(i).i32(4).op('i32.add').get(iwHi).op('i32.gt_s').brIf(1);
          f.get(yr).get(i).i32(2).op('i32.shl').op('i32.add');
          f.get(yr).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2);
          f.get(cr).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).simd('f32x4.add').v128Store(0, 2);
          f.get(i).i32(4).op('i32.add').set(i).br(0);
          f.end().end();
          f.end();
          f.get(P.sw).i32(2).op('i32.eq').if();
          f.block().loop();
          f.get(i).i32(4).op('i32.add').get(iwHi).op('i32.gt_s').brIf(1);
          f.get(i).get(iMax).op('i32.gt_s').brIf(1);
          f.get(cr).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).set(v);
          f.get(yr).get(i).i32(3).op('i32.shl').op('i32.add');
          f.get(yr).get(i).i32(3).op('i32.shl').op('i32.add').v128Load(0, 2).get(v).get(zero).shuffle(LOW_WITH_ZEROS).simd('f32x4.add').v128Store(0, 2);
          f.get(yr).get(i).i32(3).op('i32.shl').op('i32.add');
          f.get(yr).get(i).i32(3).op('i32.shl').op('i32.add').v128Load(16, 2).get(v).get(zero).shuffle(HIGH_WITH_ZEROS).simd('f32x4.add').v128Store(16, 2);
          f.get(i).i32(4).op('i32.add').set(i).br(0);
          f.end().end();
          f.end();
          forLoop(f, i, local(i), local(iwHi), konst(1), () => {
            f.get(yr).get(i).get(P.sw).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
            f.get(yr).get(i).get(P.sw).op('i32.mul').i32(2).op('i32.shl').op('i32.add').f32Load();
            f.get(cr).get(i).i32(2).op('i32.shl').op('i32.add').f32Load().op('f32.add').f32Store();
          });
          f.end();
        });
        f.get(ci).get(len).op('i32.add').set(ci);
      });
    });
  });
  return f;
}

/** The col2im family, compiled on first use per context (`ctx.use(COL2IM_WASM)`). */
export const COL2IM_WASM: WasmModuleSpec<WasmCol2imKernel> = {
  key: 'conv-col2im',
  build(m: ModuleBuilder): void {
    m.addFunction(emitCol2imAdd(), COL2IM_NAME);
  },
  bind: (e) => e[COL2IM_NAME] as WasmCol2imKernel,
};
