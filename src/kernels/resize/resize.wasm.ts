/**
 * WebAssembly SIMD Resize kernels over the last two axes of [planes, H, W] float32, with the per-row and
 * per-column tables computed at prepare (reference.ts / coordinates.ts) and uploaded once. Each computes the
 * reference's bits: the same float32 multiplies and adds in the same order (f32x4.mul/add round like scalar
 * float32; no FMA, no relaxed ops), vectorized over output columns.
 *
 * A row's horizontal work (the gathered taps of bilinear, the horizontal interpolation of bicubic) depends only
 * on the input row, so it is done once per input row into a small ring of row buffers in scratch (slot = row mod
 * 2 for bilinear, whose two rows are r and r + 1; mod 4 for bicubic's four consecutive rows) and reused by
 * every output row that reads it; the output rows are then pure vector arithmetic.
 */
import type { WasmModuleSpec } from '../../wasm/context.js';
import { F32, FunctionBuilder, I32, V128 } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

/** x, y, planes, planeIn, planeOut (bytes), W, OH, OW, rows, cols, colStride (bytes), scratch, fill */
export type WasmBilinear2d = (
  x: number, y: number, planes: number, planeIn: number, planeOut: number, W: number, OH: number, OW: number,
  rows: number, cols: number, colStride: number, scratch: number, fill: number,
) => void;

/** x, y, planes, planeIn, planeOut (bytes), W, OH, OW, rows, cols, colStride (bytes), fill */
export type WasmNearest2d = (
  x: number, y: number, planes: number, planeIn: number, planeOut: number, W: number, OH: number, OW: number,
  rows: number, cols: number, colStride: number, fill: number,
) => void;

/** x, y, planes, planeIn, planeOut (bytes), W, H, OH, OW, rows, cols, colStride (bytes), scratch, fill */
export type WasmBicubic2d = (
  x: number, y: number, planes: number, planeIn: number, planeOut: number, W: number, H: number, OH: number, OW: number,
  rows: number, cols: number, colStride: number, scratch: number, fill: number,
) => void;

export interface WasmResizeKernels {
  bilinear: WasmBilinear2d;
  bilinearExtrapolate: WasmBilinear2d;
  nearest: WasmNearest2d;
  nearestExtrapolate: WasmNearest2d;
  bicubic: WasmBicubic2d;
  bicubicExclude: WasmBicubic2d;
  bicubicExtrapolate: WasmBicubic2d;
  bicubicExcludeExtrapolate: WasmBicubic2d;
}

/** Bytes per row-table entry of the bilinear kernel: r1, r2 (i32; r1 −1 = outside), dy1, dy2 (f32). */
export const BILINEAR_ROW_BYTES = 16;
/** Bytes per row-table entry of the bicubic kernel: first − 1 (i32), outside (i32), sum (f32), pad, c0..c3 (f32). */
export const BICUBIC_ROW_BYTES = 32;

/**
 * Stores the first `rem` (0..3) lanes of the vector in `v` at address `addr` (the tail of a row whose length is
 * not a multiple of 4: the lanes beyond it were computed from padding and are dropped).
 */
function storeTail(f: FunctionBuilder, addr: number, v: number, rem: number): void {
  for (let k = 0; k < 3; k++) {
    f.get(rem).i32(k).op('i32.gt_s').if();
    f.get(addr).get(v).lane('f32x4.extract_lane', k).f32Store(4 * k);
    f.end();
  }
}

/** Fills `count` floats at `addr` with the f32 local `fill`. */
function fillRow(f: FunctionBuilder, addr: number, count: number, fill: number, i: number): void {
  forLoop(f, i, konst(0), local(count), konst(1), () => {
    f.get(addr).get(i).i32(2).op('i32.shl').op('i32.add').get(fill).f32Store();
  });
}

/**
 * f32_resize_linear_2d: rows[oy] = (r1, r2, dy1, dy2); cols holds five arrays of colStride bytes: x1, x2 (byte
 * offsets in a row), dx1, dx2 (f32), mask (i32 −1 outside; read when `extrapolate`). Per output:
 *   y = (dx2·dy2)·X[r1,x1] + (dx1·dy2)·X[r1,x2] + (dx2·dy1)·X[r2,x1] + (dx1·dy1)·X[r2,x2]
 * Scratch: two slots of two gathered rows (A = X[r, x1[·]], B = X[r, x2[·]]), colStride bytes each, then two tags.
 */
function emitBilinear(extrapolate: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [x, y, planes, planeIn, planeOut, W, OH, OW, rows, cols, colStride, scratch, fill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const pl = f.local(I32), oy = f.local(I32), xp = f.local(I32), yp = f.local(I32), rt = f.local(I32), r = f.local(I32);
  const yrow = f.local(I32), i = f.local(I32), j = f.local(I32), a = f.local(I32), src = f.local(I32), tags = f.local(I32);
  const a1 = f.local(I32), a2 = f.local(I32), full = f.local(I32), rem = f.local(I32), k = f.local(I32), rowBytes = f.local(I32);
  const owBytes = f.local(I32);
  const dy1 = f.local(V128), dy2 = f.local(V128), d1 = f.local(V128), d2 = f.local(V128), acc = f.local(V128), fillv = f.local(V128);
  f.get(scratch).get(colStride).i32(4).op('i32.mul').op('i32.add').set(tags);
  f.get(W).i32(2).op('i32.shl').set(rowBytes);
  f.get(OW).i32(2).op('i32.shl').set(owBytes);
  f.get(OW).i32(-4).op('i32.and').i32(2).op('i32.shl').set(full);
  f.get(OW).i32(3).op('i32.and').set(rem);
  f.get(fill).simd('f32x4.splat').set(fillv);
  forLoop(f, pl, konst(0), local(planes), konst(1), () => {
    f.get(x).get(pl).get(planeIn).op('i32.mul').op('i32.add').set(xp);
    f.get(y).get(pl).get(planeOut).op('i32.mul').op('i32.add').set(yp);
    f.get(tags).i32(-1).i32Store(0);
    f.get(tags).i32(-1).i32Store(4);
    forLoop(f, oy, konst(0), local(OH), konst(1), () => {
      f.get(rows).get(oy).i32(4).op('i32.shl').op('i32.add').set(rt);
      f.get(yp).get(oy).get(OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yrow);
      f.block();
      if (extrapolate) {
        f.get(rt).i32Load(0).i32(0).op('i32.lt_s').if();
        fillRow(f, yrow, OW, fill, i);
        f.br(1).end();
      }
      // Gather the rows r1 and r2 into their slots unless already there.
      for (const which of [0, 4]) {
        f.get(rt).i32Load(which).set(r);
        f.get(tags).get(r).i32(1).op('i32.and').i32(2).op('i32.shl').op('i32.add').i32Load(0).get(r).op('i32.ne').if();
        f.get(scratch).get(r).i32(1).op('i32.and').get(colStride).op('i32.mul').i32(1).op('i32.shl').op('i32.add').set(a);
        f.get(xp).get(r).get(rowBytes).op('i32.mul').op('i32.add').set(src);
        forLoop(f, j, konst(0), local(owBytes), konst(4), () => {
          // A[j] = X[r, x1[j]], B[j] = X[r, x2[j]] (j in bytes)
          f.get(a).get(j).op('i32.add').get(src).get(cols).get(j).op('i32.add').i32Load(0).op('i32.add').f32Load(0).f32Store(0);
          f.get(a).get(colStride).op('i32.add').get(j).op('i32.add');
          f.get(src).get(cols).get(colStride).op('i32.add').get(j).op('i32.add').i32Load(0).op('i32.add').f32Load(0).f32Store(0);
        });
        f.get(tags).get(r).i32(1).op('i32.and').i32(2).op('i32.shl').op('i32.add').get(r).i32Store(0);
        f.end();
      }
      f.get(scratch).get(rt).i32Load(0).i32(1).op('i32.and').get(colStride).op('i32.mul').i32(1).op('i32.shl').op('i32.add').set(a1);
      f.get(scratch).get(rt).i32Load(4).i32(1).op('i32.and').get(colStride).op('i32.mul').i32(1).op('i32.shl').op('i32.add').set(a2);
      f.get(rt).simdMem('v128.load32_splat', 8).set(dy1);
      f.get(rt).simdMem('v128.load32_splat', 12).set(dy2);
      const vector = () => {
        // acc = (((dx2·dy2)·A1 + (dx1·dy2)·B1) + (dx2·dy1)·A2) + (dx1·dy1)·B2, then the extrapolation mask.
        f.get(cols).get(colStride).i32(1).op('i32.shl').op('i32.add').get(i).op('i32.add').v128Load(0).set(d1);
        f.get(cols).get(colStride).i32(3).op('i32.mul').op('i32.add').get(i).op('i32.add').v128Load(0).set(d2);
        f.get(d2).get(dy2).simd('f32x4.mul').get(a1).get(i).op('i32.add').v128Load(0).simd('f32x4.mul');
        f.get(d1).get(dy2).simd('f32x4.mul').get(a1).get(colStride).op('i32.add').get(i).op('i32.add').v128Load(0).simd('f32x4.mul').simd('f32x4.add');
        f.get(d2).get(dy1).simd('f32x4.mul').get(a2).get(i).op('i32.add').v128Load(0).simd('f32x4.mul').simd('f32x4.add');
        f.get(d1).get(dy1).simd('f32x4.mul').get(a2).get(colStride).op('i32.add').get(i).op('i32.add').v128Load(0).simd('f32x4.mul').simd('f32x4.add');
        f.set(acc);
        if (extrapolate) {
          f.get(fillv).get(acc).get(cols).get(colStride).i32(2).op('i32.shl').op('i32.add').get(i).op('i32.add').v128Load(0).simd('v128.bitselect').set(acc);
        }
      };
      forLoop(f, i, konst(0), local(full), konst(16), () => {
        vector();
        f.get(yrow).get(i).op('i32.add').get(acc).v128Store(0);
      });
      f.get(rem).if();
      f.get(full).set(i);
      vector();
      f.get(yrow).get(full).op('i32.add').set(k);
      storeTail(f, k, acc, rem);
      f.end();
      f.end(); // block
    });
  });
  return f;
}

/**
 * f32_resize_nearest_2d: rows[oy] = input row (−1 outside), cols = byte offsets in a row, then (extrapolate)
 * masks −1 outside at cols + colStride. An output row reading the same input row as the previous one is a copy
 * of it.
 */
function emitNearest(extrapolate: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [x, y, planes, planeIn, planeOut, W, OH, OW, rows, cols, colStride, fill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const pl = f.local(I32), oy = f.local(I32), xp = f.local(I32), yp = f.local(I32), r = f.local(I32), prev = f.local(I32);
  const yrow = f.local(I32), i = f.local(I32), src = f.local(I32), rowOut = f.local(I32), full = f.local(I32);
  f.get(OW).i32(2).op('i32.shl').set(rowOut);
  f.get(OW).i32(-4).op('i32.and').i32(2).op('i32.shl').set(full);
  forLoop(f, pl, konst(0), local(planes), konst(1), () => {
    f.get(x).get(pl).get(planeIn).op('i32.mul').op('i32.add').set(xp);
    f.get(y).get(pl).get(planeOut).op('i32.mul').op('i32.add').set(yp);
    f.i32(-2).set(prev);
    forLoop(f, oy, konst(0), local(OH), konst(1), () => {
      f.get(rows).get(oy).i32(2).op('i32.shl').op('i32.add').i32Load(0).set(r);
      f.get(yp).get(oy).get(rowOut).op('i32.mul').op('i32.add').set(yrow);
      f.block();
      if (extrapolate) {
        f.get(r).i32(0).op('i32.lt_s').if();
        fillRow(f, yrow, OW, fill, i);
        f.i32(-2).set(prev);
        f.br(1).end();
      }
      f.get(r).get(prev).op('i32.eq').if();
      // Same input row: copy the previous output row.
      forLoop(f, i, konst(0), local(full), konst(16), () => {
        f.get(yrow).get(i).op('i32.add').get(yrow).get(rowOut).op('i32.sub').get(i).op('i32.add').v128Load(0).v128Store(0);
      });
      forLoop(f, i, local(full), local(rowOut), konst(4), () => {
        f.get(yrow).get(i).op('i32.add').get(yrow).get(rowOut).op('i32.sub').get(i).op('i32.add').f32Load(0).f32Store(0);
      });
      f.else();
      f.get(xp).get(r).get(W).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(src);
      forLoop(f, i, konst(0), local(rowOut), konst(4), () => {
        f.get(yrow).get(i).op('i32.add');
        if (extrapolate) {
          // inside (mask 0) ? X[r, col] : fill
          f.get(src).get(cols).get(i).op('i32.add').i32Load(0).op('i32.add').f32Load(0);
          f.get(fill);
          f.get(cols).get(colStride).op('i32.add').get(i).op('i32.add').i32Load(0).op('i32.eqz').select();
        } else {
          f.get(src).get(cols).get(i).op('i32.add').i32Load(0).op('i32.add').f32Load(0);
        }
        f.f32Store(0);
      });
      f.end();
      f.get(r).set(prev);
      f.end(); // block
    });
  });
  return f;
}

/**
 * f32_resize_cubic_2d: rows[oy] = (first − 1, outside, sum, pad, c0..c3); cols holds the four clamped byte
 * offsets of each output column (16 bytes per column, colStride·4 bytes), then the four weights c/sum, then
 * (extrapolate) the mask at cols + 8·colStride. Per input row, h[j] = 0 + w0·X[c0] + w1·X[c1] + w2·X[c2] +
 * w3·X[c3] (scalar); per output row, y = 0 + (h0·c0)/s + (h1·c1)/s + (h2·c2)/s + (h3·c3)/s (the divisions only
 * when exclude_outside can make s differ from 1; dividing by 1 would change nothing).
 * Scratch: four slots of colStride bytes, then four tags.
 */
function emitBicubic(exclude: boolean, extrapolate: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [x, y, planes, planeIn, planeOut, W, H, OH, OW, rows, cols, colStride, scratch, fill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const pl = f.local(I32), oy = f.local(I32), xp = f.local(I32), yp = f.local(I32), rt = f.local(I32), r = f.local(I32);
  const yrow = f.local(I32), i = f.local(I32), j = f.local(I32), src = f.local(I32), tags = f.local(I32);
  const hrow = f.local(I32), cj = f.local(I32), wj = f.local(I32), full = f.local(I32), rem = f.local(I32), k = f.local(I32);
  const s = f.local(F32);
  const h = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const c = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const sum = f.local(V128), acc = f.local(V128), fillv = f.local(V128);
  f.get(scratch).get(colStride).i32(2).op('i32.shl').op('i32.add').set(tags);
  f.get(OW).i32(-4).op('i32.and').i32(2).op('i32.shl').set(full);
  f.get(OW).i32(3).op('i32.and').set(rem);
  f.get(fill).simd('f32x4.splat').set(fillv);
  /** r = clamp(row, 0, H − 1) for the row on the stack. */
  const clampRow = () => {
    f.set(r);
    f.i32(0).get(r).get(r).i32(0).op('i32.lt_s').select().set(r);
    f.get(H).i32(1).op('i32.sub').get(r).get(r).get(H).op('i32.ge_s').select().set(r);
  };
  forLoop(f, pl, konst(0), local(planes), konst(1), () => {
    f.get(x).get(pl).get(planeIn).op('i32.mul').op('i32.add').set(xp);
    f.get(y).get(pl).get(planeOut).op('i32.mul').op('i32.add').set(yp);
    for (let q = 0; q < 4; q++) f.get(tags).i32(-1).i32Store(4 * q);
    forLoop(f, oy, konst(0), local(OH), konst(1), () => {
      f.get(rows).get(oy).i32(5).op('i32.shl').op('i32.add').set(rt);
      f.get(yp).get(oy).get(OW).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(yrow);
      f.block();
      if (extrapolate) {
        f.get(rt).i32Load(4).if();
        fillRow(f, yrow, OW, fill, i);
        f.br(1).end();
      }
      for (let q = 0; q < 4; q++) {
        f.get(rt).i32Load(0).i32(q).op('i32.add');
        clampRow();
        // slot address, remembered for the vertical pass
        f.get(scratch).get(r).i32(3).op('i32.and').get(colStride).op('i32.mul').op('i32.add').set(h[q]!);
        f.get(tags).get(r).i32(3).op('i32.and').i32(2).op('i32.shl').op('i32.add').i32Load(0).get(r).op('i32.ne').if();
        f.get(xp).get(r).get(W).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(src);
        f.get(h[q]!).set(hrow);
        f.get(cols).set(cj);
        f.get(cols).get(colStride).i32(2).op('i32.shl').op('i32.add').set(wj);
        forLoop(f, j, konst(0), local(OW), konst(1), () => {
          f.f32(0);
          for (let tap = 0; tap < 4; tap++) {
            f.get(wj).f32Load(4 * tap).get(src).get(cj).i32Load(4 * tap).op('i32.add').f32Load(0).op('f32.mul').op('f32.add');
          }
          f.set(s);
          f.get(hrow).get(s).f32Store(0);
          f.get(hrow).i32(4).op('i32.add').set(hrow);
          f.get(cj).i32(16).op('i32.add').set(cj);
          f.get(wj).i32(16).op('i32.add').set(wj);
        });
        f.get(tags).get(r).i32(3).op('i32.and').i32(2).op('i32.shl').op('i32.add').get(r).i32Store(0);
        f.end();
      }
      for (let q = 0; q < 4; q++) f.get(rt).simdMem('v128.load32_splat', 16 + 4 * q).set(c[q]!);
      f.get(rt).simdMem('v128.load32_splat', 8).set(sum);
      const vector = () => {
        f.f32x4Const(0, 0, 0, 0);
        for (let q = 0; q < 4; q++) {
          f.get(h[q]!).get(i).op('i32.add').v128Load(0).get(c[q]!).simd('f32x4.mul');
          if (exclude) f.get(sum).simd('f32x4.div');
          f.simd('f32x4.add');
        }
        f.set(acc);
        if (extrapolate) {
          f.get(fillv).get(acc).get(cols).get(colStride).i32(3).op('i32.shl').op('i32.add').get(i).op('i32.add').v128Load(0).simd('v128.bitselect').set(acc);
        }
      };
      forLoop(f, i, konst(0), local(full), konst(16), () => {
        vector();
        f.get(yrow).get(i).op('i32.add').get(acc).v128Store(0);
      });
      f.get(rem).if();
      f.get(full).set(i);
      vector();
      f.get(yrow).get(full).op('i32.add').set(k);
      storeTail(f, k, acc, rem);
      f.end();
      f.end(); // block
    });
  });
  return f;
}

const NAMES = {
  bilinear: 'f32_resize_linear_2d__wasmsimd',
  bilinearExtrapolate: 'f32_resize_linear_2d_extrapolate__wasmsimd',
  nearest: 'f32_resize_nearest_2d__wasmsimd',
  nearestExtrapolate: 'f32_resize_nearest_2d_extrapolate__wasmsimd',
  bicubic: 'f32_resize_cubic_2d__wasmsimd',
  bicubicExclude: 'f32_resize_cubic_2d_exclude__wasmsimd',
  bicubicExtrapolate: 'f32_resize_cubic_2d_extrapolate__wasmsimd',
  bicubicExcludeExtrapolate: 'f32_resize_cubic_2d_exclude_extrapolate__wasmsimd',
} as const;

/** The Resize family's module: every kernel above, a few KB, compiled on first use. */
export const RESIZE_MODULE: WasmModuleSpec<WasmResizeKernels> = {
  key: 'resize-2d',
  build(m) {
    m.addFunction(emitBilinear(false), NAMES.bilinear);
    m.addFunction(emitBilinear(true), NAMES.bilinearExtrapolate);
    m.addFunction(emitNearest(false), NAMES.nearest);
    m.addFunction(emitNearest(true), NAMES.nearestExtrapolate);
    m.addFunction(emitBicubic(false, false), NAMES.bicubic);
    m.addFunction(emitBicubic(true, false), NAMES.bicubicExclude);
    m.addFunction(emitBicubic(false, true), NAMES.bicubicExtrapolate);
    m.addFunction(emitBicubic(true, true), NAMES.bicubicExcludeExtrapolate);
  },
  bind: (e) => Object.fromEntries(Object.entries(NAMES).map(([k, name]) => [k, e[name]])) as unknown as WasmResizeKernels,
};
