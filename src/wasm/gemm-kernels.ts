import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from './emitter.js';
import { forLoop, i32Update, konst, local, minInto } from './loops.js';

/**
 * Generators of the f32 GEMM kernels in WebAssembly SIMD, XNNPACK-style: one template, many MR×NR tiles,
 * canonical names `f32_gemm_{MR}x{NR}__wasmsimd` (mul + add) and `__wasmrelaxedsimd` (f32x4.relaxed_madd).
 *
 * Data layout is the one of src/kernels/gemm/packed.ts, so the wasm micro-kernel is a drop-in for the JS one:
 * an A panel is kc×MR k-major, a B panel kc×NR k-major, both zero-padded to the full tile.
 * All pointers are byte offsets into the imported memory; strides are in elements unless named `...Bytes`.
 */

/** Epilogue codes of the `act` argument (see Activation in src/kernels/gemm/activation.ts). */
export const WASM_ACT = { none: 0, minmax: 1, leakyrelu: 2, hardswish: 3 } as const;

/** Bits of the micro-kernel's `flags` argument. */
export const FLAG_ACCUMULATE = 1;
export const FLAG_FINAL = 2;

/** Bytes of the tile buffer an edge tile goes through (the largest MR×NR we generate, 8×16 floats). */
export const TILE_BUFFER_BYTES = 8 * 16 * 4;

export interface GemmTile {
  mr: number;
  nr: number;
}

export type SimdVariant = 'wasmsimd' | 'wasmrelaxedsimd';

export function microkernelName(tile: GemmTile, variant: SimdVariant): string {
  return `f32_gemm_${tile.mr}x${tile.nr}__${variant}`;
}
export function packedBDriverName(tile: GemmTile, variant: SimdVariant): string {
  return `f32_gemm_packed_b_${tile.mr}x${tile.nr}__${variant}`;
}
export function packedADriverName(tile: GemmTile, variant: SimdVariant): string {
  return `f32_gemm_packed_a_${tile.mr}x${tile.nr}__${variant}`;
}
export function packName(tile: number): string {
  return `f32_pack_panels_x${tile}__wasmsimd`;
}

/**
 * f32_pack_panels_x{T}(src, tStride, kStride, count, kc, dst): packs `count` rows (op(A), T = MR) or columns
 * (op(B), T = NR) of a kc-deep slice as k-major panels: dst[p·kc·T + k·T + t] = src[(p·T + t)·tStride + k·kStride],
 * zero past `count`. Strides are in elements. Full panels of contiguous data (tStride = 1) copy whole vectors.
 */
export function emitPack(tile: number): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [src, tStride, kStride, count, kc, dst] = [0, 1, 2, 3, 4, 5];
  const p0 = f.local(I32), width = f.local(I32), k = f.local(I32), s = f.local(I32), t = f.local(I32);
  // strides to bytes
  f.get(tStride).i32(2).op('i32.shl').set(tStride);
  f.get(kStride).i32(2).op('i32.shl').set(kStride);
  forLoop(f, p0, konst(0), local(count), konst(tile), () => {
    minInto(f, width, konst(tile), (g) => g.get(count).get(p0).op('i32.sub'));
    f.i32(0).set(k);
    if (tile === 4) emitPackTransposed4x4(f, { src, tStride, kStride, kc, dst, p0, width, k, s });
    // s = src + p0·tStride
    forLoop(f, k, local(k), local(kc), konst(1), () => {
      f.get(src).get(p0).get(tStride).op('i32.mul').op('i32.add').get(k).get(kStride).op('i32.mul').op('i32.add').set(s);
      const vectorizable = tile % 4 === 0;
      if (vectorizable) {
        f.get(width).i32(tile).op('i32.eq').get(tStride).i32(4).op('i32.eq').op('i32.and');
        f.if();
        for (let v = 0; v < tile / 4; v++) f.get(dst).get(s).v128Load(16 * v, 2).v128Store(16 * v, 2);
        i32Update(f, dst, 'i32.add', 4 * tile);
        f.else();
      }
      forLoop(f, t, konst(0), local(width), konst(1), () => {
        f.get(dst).get(s).f32Load().f32Store();
        f.get(s).get(tStride).op('i32.add').set(s);
        i32Update(f, dst, 'i32.add', 4);
      });
      forLoop(f, t, local(width), konst(tile), konst(1), () => {
        f.get(dst).f32(0).f32Store();
        i32Update(f, dst, 'i32.add', 4);
      });
      if (vectorizable) f.end();
    });
  });
  return f;
}

/** Byte lanes of the 4×4 transpose's shuffles: interleave the low / high halves, then take 64-bit halves. */
const ZIP_LO_F32 = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
const ZIP_HI_F32 = ZIP_LO_F32.map((l) => l + 8);
const LO_F64 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HI_F64 = LO_F64.map((l) => l + 8);

/**
 * The 4-wide pack of rows stored k-contiguous (op(A) not transposed: kStride = 1 element, a full panel):
 * four k at a time as a 4×4 transpose of four row vectors (r_t = src row t, k .. k + 3) into the four k-major
 * vectors the panel stores, instead of sixteen scalar copies. Leaves k at the first step it did not do.
 */
function emitPackTransposed4x4(
  f: FunctionBuilder, l: { src: number; tStride: number; kStride: number; kc: number; dst: number; p0: number; width: number; k: number; s: number },
): void {
  const { src, tStride, kStride, kc, dst, p0, width, k, s } = l;
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const lo = f.local(V128), hi = f.local(V128), lo2 = f.local(V128), hi2 = f.local(V128);
  f.get(width).i32(4).op('i32.eq').get(kStride).i32(4).op('i32.eq').op('i32.and').if();
  f.block().loop();
  f.get(k).i32(4).op('i32.add').get(kc).op('i32.gt_s').brIf(1);
  // s = src + p0·tStride + 4k (strides already in bytes)
  f.get(src).get(p0).get(tStride).op('i32.mul').op('i32.add').get(k).i32(2).op('i32.shl').op('i32.add').set(s);
  for (let t = 0; t < 4; t++) {
    f.get(s);
    if (t > 0) f.get(tStride).i32(t).op('i32.mul').op('i32.add');
    f.v128Load(0, 2).set(r[t]!);
  }
  // lo = [r0_0 r1_0 r0_1 r1_1], hi = [r0_2 r1_2 r0_3 r1_3]; lo2 / hi2 likewise for rows 2 and 3.
  f.get(r[0]!).get(r[1]!).shuffle(ZIP_LO_F32).set(lo);
  f.get(r[0]!).get(r[1]!).shuffle(ZIP_HI_F32).set(hi);
  f.get(r[2]!).get(r[3]!).shuffle(ZIP_LO_F32).set(lo2);
  f.get(r[2]!).get(r[3]!).shuffle(ZIP_HI_F32).set(hi2);
  f.get(dst).get(lo).get(lo2).shuffle(LO_F64).v128Store(0, 2);
  f.get(dst).get(lo).get(lo2).shuffle(HI_F64).v128Store(16, 2);
  f.get(dst).get(hi).get(hi2).shuffle(LO_F64).v128Store(32, 2);
  f.get(dst).get(hi).get(hi2).shuffle(HI_F64).v128Store(48, 2);
  i32Update(f, dst, 'i32.add', 64);
  f.get(k).i32(4).op('i32.add').set(k).br(0);
  f.end().end();
  f.end();
}

/** k steps per main-loop iteration of the micro-kernel: 2 and 4 measured no faster for 4x8 (src/wasm/README.md). */
const UNROLL = 1;

/** Micro-kernel parameter indices. */
const MK = {
  kc: 0, a: 1, b: 2, c: 3, ldcBytes: 4, rows: 5, cols: 6, flags: 7, rowBias: 8, colBias: 9, act: 10, p0: 11, p1: 12,
  tmp: 13,
} as const;
const MK_PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, I32] as const;

/**
 * f32_gemm_{MR}x{NR}__{variant}(kc, a, b, c, ldcBytes, rows, cols, flags, rowBias, colBias, act, p0, p1, tmp):
 *   acc (MR×NR) = Σ_k A panel[k]ᵀ · B panel[k] over kc steps;
 *   then, for the rows×cols corner of the tile at c (row stride ldcBytes):
 *   x = acc (+ C when flags & ACCUMULATE); when flags & FINAL: x += rowBias[r] (if rowBias ≠ 0) + colBias[j]
 *   (if colBias ≠ 0, NR readable floats), then x = act(x) with p0/p1 its parameters; C = x.
 * Edge tiles (rows < MR or cols < NR) go through the MR×NR float buffer at `tmp`.
 */
export function emitMicrokernel(tile: GemmTile, variant: SimdVariant): FunctionBuilder {
  const { mr, nr } = tile;
  if (nr % 4 !== 0 || mr < 1 || mr * nr > 128) throw new RangeError(`wasm gemm: unsupported tile ${mr}x${nr}`);
  const V = nr / 4;
  const f = new FunctionBuilder(MK_PARAMS);
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) {
    acc.push([]);
    for (let v = 0; v < V; v++) acc[r]!.push(f.local(V128));
  }
  const bv: number[] = [];
  for (let v = 0; v < V; v++) bv.push(f.local(V128));
  const av = f.local(V128);
  const k = f.local(I32), dst = f.local(I32), stride = f.local(I32), full = f.local(I32), r = f.local(I32), j = f.local(I32);
  const lo = f.local(V128), hi = f.local(V128), x = f.local(V128);

  // Main loop: per k, NR/4 vectors of B, MR broadcasts of A, MR·NR/4 multiply-adds; unrolled UNROLL times
  // (addresses advance once per UNROLL steps, the steps use memarg offsets), then single steps for the rest.
  const step = (u: number) => {
    for (let v = 0; v < V; v++) f.get(MK.b).v128Load(4 * nr * u + 16 * v, 2).set(bv[v]!);
    for (let i = 0; i < mr; i++) {
      f.get(MK.a).simdMem('v128.load32_splat', 4 * (mr * u + i)).set(av);
      for (let v = 0; v < V; v++) {
        if (variant === 'wasmrelaxedsimd') {
          f.get(av).get(bv[v]!).get(acc[i]![v]!).simd('f32x4.relaxed_madd').set(acc[i]![v]!);
        } else {
          f.get(acc[i]![v]!).get(av).get(bv[v]!).simd('f32x4.mul').simd('f32x4.add').set(acc[i]![v]!);
        }
      }
    }
  };
  const loopOver = (unroll: number) => {
    f.get(k).i32(unroll).op('i32.ge_s').if();
    f.loop();
    for (let u = 0; u < unroll; u++) step(u);
    i32Update(f, MK.a, 'i32.add', 4 * mr * unroll);
    i32Update(f, MK.b, 'i32.add', 4 * nr * unroll);
    f.get(k).i32(unroll).op('i32.sub').tee(k).i32(unroll).op('i32.ge_s').brIf(0);
    f.end();
    f.end();
  };
  f.get(MK.kc).set(k);
  if (UNROLL > 1) loopOver(UNROLL);
  loopOver(1);

  // Destination: C itself for a full tile, else the tile buffer (preloaded with C's corner when accumulating).
  f.get(MK.rows).i32(mr).op('i32.eq').get(MK.cols).i32(nr).op('i32.eq').op('i32.and').set(full);
  f.get(full).if();
  f.get(MK.c).set(dst).get(MK.ldcBytes).set(stride);
  f.else();
  f.get(MK.tmp).set(dst).i32(4 * nr).set(stride);
  f.get(MK.flags).i32(FLAG_ACCUMULATE).op('i32.and').if();
  copyCorner(f, MK.c, { local: MK.ldcBytes }, MK.tmp, { bytes: 4 * nr }, r, j);
  f.end();
  f.end();

  const rowAddr = (i: number) => {
    // dst + i·stride
    f.get(dst);
    if (i > 0) f.get(stride).i32(i).op('i32.mul').op('i32.add');
  };
  f.get(MK.flags).i32(FLAG_ACCUMULATE).op('i32.and').if();
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < V; v++) {
      f.get(acc[i]![v]!);
      rowAddr(i);
      f.v128Load(16 * v, 2).simd('f32x4.add').set(acc[i]![v]!);
    }
  }
  f.end();

  f.get(MK.flags).i32(FLAG_FINAL).op('i32.and').if();
  emitBias(f, mr, V, acc);
  emitActivation(f, mr, V, acc, lo, hi, x);
  f.end();

  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < V; v++) {
      rowAddr(i);
      f.get(acc[i]![v]!).v128Store(16 * v, 2);
    }
  }
  f.get(full).op('i32.eqz').if();
  copyCorner(f, MK.tmp, { bytes: 4 * nr }, MK.c, { local: MK.ldcBytes }, r, j);
  f.end();
  return f;
}

/** dst[r·dstStride + 4j] = src[r·srcStride + 4j] for r < rows, j < cols; a stride is a local or a constant. */
function copyCorner(
  f: FunctionBuilder, src: number, srcStride: Stride, dst: number, dstStride: Stride, r: number, j: number,
): void {
  const push = (s: Stride) => void ('local' in s ? f.get(s.local) : f.i32(s.bytes));
  forLoop(f, r, konst(0), local(MK.rows), konst(1), () => {
    forLoop(f, j, konst(0), local(MK.cols), konst(1), () => {
      f.get(dst).get(r);
      push(dstStride);
      f.op('i32.mul').op('i32.add').get(j).i32(2).op('i32.shl').op('i32.add');
      f.get(src).get(r);
      push(srcStride);
      f.op('i32.mul').op('i32.add').get(j).i32(2).op('i32.shl').op('i32.add');
      f.f32Load().f32Store();
    });
  });
}

type Stride = { local: number } | { bytes: number };

function emitBias(f: FunctionBuilder, mr: number, V: number, acc: number[][]): void {
  f.get(MK.rowBias).if();
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < V; v++) {
      f.get(acc[i]![v]!).get(MK.rowBias).simdMem('v128.load32_splat', 4 * i).simd('f32x4.add').set(acc[i]![v]!);
    }
  }
  f.end();
  f.get(MK.colBias).if();
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < V; v++) {
      f.get(acc[i]![v]!).get(MK.colBias).v128Load(16 * v, 2).simd('f32x4.add').set(acc[i]![v]!);
    }
  }
  f.end();
}

/**
 * The fused activation, with the JS epilogue's exact semantics (NaN passes through, as in applyActivation):
 * minmax: x < lo ? lo : (hi < x ? hi : x), which is f32x4.pmax then pmin;
 * leakyrelu: x < 0 ? αx : x; hardswish: x · clamp(αx + β, 0, 1).
 */
function emitActivation(f: FunctionBuilder, mr: number, V: number, acc: number[][], lo: number, hi: number, x: number): void {
  const each = (body: (a: number) => void) => {
    for (let i = 0; i < mr; i++) for (let v = 0; v < V; v++) body(acc[i]![v]!);
  };
  f.get(MK.p0).simd('f32x4.splat').set(lo);
  f.get(MK.p1).simd('f32x4.splat').set(hi);
  f.get(MK.act).i32(WASM_ACT.minmax).op('i32.eq').if();
  each((a) => void f.get(a).get(lo).simd('f32x4.pmax').get(hi).simd('f32x4.pmin').set(a));
  f.end();
  f.get(MK.act).i32(WASM_ACT.leakyrelu).op('i32.eq').if();
  each((a) => {
    f.get(a).get(lo).simd('f32x4.mul').get(a);
    f.get(a).f32x4Const(0, 0, 0, 0).simd('f32x4.lt');
    f.simd('v128.bitselect').set(a);
  });
  f.end();
  f.get(MK.act).i32(WASM_ACT.hardswish).op('i32.eq').if();
  each((a) => {
    f.get(a).get(lo).simd('f32x4.mul').get(hi).simd('f32x4.add').set(x);
    f.get(x).f32x4Const(0, 0, 0, 0).simd('f32x4.pmax').f32x4Const(1, 1, 1, 1).simd('f32x4.pmin');
    f.get(a).simd('f32x4.mul').set(a);
  });
  f.end();
}

/**
 * f32_gemm_packed_b_{MR}x{NR}(M, N, K, a, aRow, aCol, b, colBias, c, ldc, scratch, kcMax, mcMax, accumulate,
 *                             act, p0, p1, tmp):
 * C (M×N at c, row stride ldc) = act(op(A)·B + colBias) (+ C first when accumulate), op(A)(i, k) =
 * A[a + 4(i·aRow + k·aCol)], B packed by packB (panels at b, K×NR each), colBias 0 or ⌈N/NR⌉·NR floats.
 * Per K block and MC rows, op(A) is packed into `scratch` (mcMax·kcMax floats rounded up to MR) in wasm.
 */
export function emitPackedBDriver(tile: GemmTile, microIndex: number, packIndex: number): FunctionBuilder {
  const { mr, nr } = tile;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, I32]);
  const [M, N, K, a, aRow, aCol, b, colBias, c, ldc, scratch, kcMax, mcMax, accumulate, act, p0, p1, tmp] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const k0 = f.local(I32), kc = f.local(I32), flags = f.local(I32), m0 = f.local(I32), mc = f.local(I32);
  const j0 = f.local(I32), width = f.local(I32), bi = f.local(I32), i0 = f.local(I32), height = f.local(I32);
  // do { ... } while (k0 < K): a K = 0 product still runs once to write bias + activation.
  f.i32(0).set(k0);
  f.block().loop();
  minInto(f, kc, local(kcMax), (g) => g.get(K).get(k0).op('i32.sub'));
  // flags = (accumulate || k0 > 0 ? ACCUMULATE : 0) | (k0 + kc >= K ? FINAL : 0)
  f.get(accumulate).get(k0).op('i32.or').i32(0).op('i32.ne');
  f.get(k0).get(kc).op('i32.add').get(K).op('i32.ge_s').i32(1).op('i32.shl').op('i32.or').set(flags);
  forLoop(f, m0, konst(0), local(M), local(mcMax), () => {
    minInto(f, mc, local(mcMax), (g) => g.get(M).get(m0).op('i32.sub'));
    f.get(a).get(m0).get(aRow).op('i32.mul').get(k0).get(aCol).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
    f.get(aRow).get(aCol).get(mc).get(kc).get(scratch).call(packIndex);
    forLoop(f, j0, konst(0), local(N), konst(nr), () => {
      minInto(f, width, konst(nr), (g) => g.get(N).get(j0).op('i32.sub'));
      // panel j0/NR starts at j0·K floats; its K block at k0·NR more.
      f.get(b).get(j0).get(K).op('i32.mul').get(k0).i32(nr).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add').set(bi);
      forLoop(f, i0, konst(0), local(mc), konst(mr), () => {
        minInto(f, height, konst(mr), (g) => g.get(mc).get(i0).op('i32.sub'));
        f.get(kc);
        f.get(scratch).get(i0).get(kc).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
        f.get(bi);
        f.get(c).get(m0).get(i0).op('i32.add').get(ldc).op('i32.mul').get(j0).op('i32.add').i32(2).op('i32.shl').op('i32.add');
        f.get(ldc).i32(2).op('i32.shl');
        f.get(height).get(width).get(flags);
        f.i32(0);
        f.get(colBias).get(j0).i32(2).op('i32.shl').op('i32.add').i32(0).get(colBias).select();
        f.get(act).get(p0).get(p1).get(tmp);
        f.call(microIndex);
      });
    });
  });
  f.get(k0).get(kc).op('i32.add').tee(k0).get(K).op('i32.lt_s').brIf(0);
  f.end().end();
  return f;
}

/**
 * f32_gemm_packed_a_{MR}x{NR}(M, N, K, a, rowBias, b, bRow, bCol, c, ldc, scratch, kcMax, ncMax, accumulate,
 *                             act, p0, p1, tmp):
 * C (M×N) = act(A·op(B) + rowBias) (+ C first when accumulate), with A packed by packA (panels at a, K×MR each),
 * op(B)(k, j) = B[b + 4(k·bRow + j·bCol)] (im2col columns for convolution), rowBias 0 or ⌈M/MR⌉·MR floats.
 * Per K block and NC columns, op(B) is packed into `scratch` (ncMax·kcMax floats rounded up to NR) in wasm.
 */
export function emitPackedADriver(tile: GemmTile, microIndex: number, packIndex: number): FunctionBuilder {
  const { mr, nr } = tile;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, I32]);
  const [M, N, K, a, rowBias, b, bRow, bCol, c, ldc, scratch, kcMax, ncMax, accumulate, act, p0, p1, tmp] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const k0 = f.local(I32), kc = f.local(I32), flags = f.local(I32), n0 = f.local(I32), nc = f.local(I32);
  const i0 = f.local(I32), height = f.local(I32), ai = f.local(I32), j0 = f.local(I32), width = f.local(I32);
  f.i32(0).set(k0);
  f.block().loop();
  minInto(f, kc, local(kcMax), (g) => g.get(K).get(k0).op('i32.sub'));
  f.get(accumulate).get(k0).op('i32.or').i32(0).op('i32.ne');
  f.get(k0).get(kc).op('i32.add').get(K).op('i32.ge_s').i32(1).op('i32.shl').op('i32.or').set(flags);
  forLoop(f, n0, konst(0), local(N), local(ncMax), () => {
    minInto(f, nc, local(ncMax), (g) => g.get(N).get(n0).op('i32.sub'));
    f.get(b).get(k0).get(bRow).op('i32.mul').get(n0).get(bCol).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
    f.get(bCol).get(bRow).get(nc).get(kc).get(scratch).call(packIndex);
    forLoop(f, i0, konst(0), local(M), konst(mr), () => {
      minInto(f, height, konst(mr), (g) => g.get(M).get(i0).op('i32.sub'));
      f.get(a).get(i0).get(K).op('i32.mul').get(k0).i32(mr).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add').set(ai);
      forLoop(f, j0, konst(0), local(nc), konst(nr), () => {
        minInto(f, width, konst(nr), (g) => g.get(nc).get(j0).op('i32.sub'));
        f.get(kc).get(ai);
        f.get(scratch).get(j0).get(kc).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
        f.get(c).get(i0).get(ldc).op('i32.mul').get(n0).op('i32.add').get(j0).op('i32.add').i32(2).op('i32.shl').op('i32.add');
        f.get(ldc).i32(2).op('i32.shl');
        f.get(height).get(width).get(flags);
        f.get(rowBias).get(i0).i32(2).op('i32.shl').op('i32.add').i32(0).get(rowBias).select();
        f.i32(0);
        f.get(act).get(p0).get(p1).get(tmp);
        f.call(microIndex);
      });
    });
  });
  f.get(k0).get(kc).op('i32.add').tee(k0).get(K).op('i32.lt_s').brIf(0);
  f.end().end();
  return f;
}

/** Export names of one generated tile. */
export interface GemmExports {
  micro: string;
  packedB: string;
  packedA: string;
}

/**
 * Adds every requested tile and variant (micro-kernel + both drivers) and the pack helpers to module `m`.
 * Returns, per `${MR}x${NR}__${variant}`, the export names.
 */
export function addGemmKernels(
  m: ModuleBuilder, tiles: readonly GemmTile[], variants: readonly SimdVariant[],
): Record<string, GemmExports> {
  const packIndex = new Map<number, number>();
  const packFor = (t: number) => {
    let i = packIndex.get(t);
    if (i === undefined) {
      i = m.addFunction(emitPack(t), packName(t));
      packIndex.set(t, i);
    }
    return i;
  };
  for (const tile of tiles) {
    for (const variant of variants) {
      const micro = m.addFunction(emitMicrokernel(tile, variant), microkernelName(tile, variant));
      m.addFunction(emitPackedBDriver(tile, micro, packFor(tile.mr)), packedBDriverName(tile, variant));
      m.addFunction(emitPackedADriver(tile, micro, packFor(tile.nr)), packedADriverName(tile, variant));
    }
  }
  return gemmExportNames(tiles, variants);
}

/** Per `${MR}x${NR}__${variant}`, the export names addGemmKernels gives (known without generating the module). */
export function gemmExportNames(tiles: readonly GemmTile[], variants: readonly SimdVariant[]): Record<string, GemmExports> {
  const exports: Record<string, GemmExports> = {};
  for (const tile of tiles) {
    for (const variant of variants) {
      exports[`${tile.mr}x${tile.nr}__${variant}`] = {
        micro: microkernelName(tile, variant),
        packedB: packedBDriverName(tile, variant),
        packedA: packedADriverName(tile, variant),
      };
    }
  }
  return exports;
}
