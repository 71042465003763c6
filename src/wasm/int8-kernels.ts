import type { WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder, type ValType } from './emitter.js';
import { forLoop, konst, local, minInto } from './loops.js';

/**
 * Integer GEMM kernels in WebAssembly SIMD for the 8-bit operators (QLinearConv, QLinearMatMul, QGemm and the
 * QDQ groups fused into them), XNNPACK-style names: `qs8_gemm_4x8c2__wasmsimd_dot16x2` with the requantizing
 * store fused.
 *
 * Operands are 8-bit values already shifted by their zero points and widened to int16 when packed
 * (w - w_zp and x - x_zp lie in [-255, 255]), so the kernel needs no zero-point corrections and padding is 0:
 *   acc[m, n] = Σ_k (A[m, k] - za)·(B[k, n] - zb)
 * `i32x4.dot_i16x8_s` multiplies two k at a time ("c2"): an A panel holds, per pair of k, the four rows' pairs
 * [A(m,2j), A(m,2j+1)] (16 bytes: one load32_splat per row), a B panel per pair of k the eight columns' pairs
 * (32 bytes: two vectors), so the 4×8 tile is 8 dot + 8 add per pair of k into 8 int32x4 accumulators. The
 * int32 sums are exact while K·255² < 2^31 (K < 33025).
 *
 * Requantization, per output (ONNX QLinearConv / QLinearMatMul; MlasRequantizeOutput's float path):
 *   y = clamp(roundHalfEven(f32(acc + bias) · multiplier) + zp, lo, hi)
 * f32x4.convert_i32x4_s and f32x4.mul round to nearest even like Math.fround, (v + 1.5·2^23) - 1.5·2^23 rounds
 * to the nearest even integer for |v| < 2^22 (larger values saturate either way since lo, hi are 8-bit), NaN
 * becomes 0 as a typed-array store of NaN does. The four int32 lanes' low bytes are the stored 8-bit values.
 */
export const QS8_TILE_ROWS = 4;
export const QS8_TILE_COLS = 8;
/** Bytes per pair of k in an A panel (4 rows × 2 int16) and a B panel (8 columns × 2 int16). */
export const QS8_A_PAIR_BYTES = 16;
export const QS8_B_PAIR_BYTES = 32;
/** Largest reduction depth whose int32 accumulation cannot overflow with operands in [-255, 255]. */
export const QS8_MAX_K = Math.floor((2 ** 31 - 1) / (255 * 255));

/** Where the per-channel bias and multiplier of the requantization vary: along the rows or along the columns. */
export type ChannelAxis = 'rows' | 'cols';

/**
 * qs8_gemm(M, N, kPairs, a, b, y, ldy, bias, mult, zp, lo, hi): y[m·ldy + n] (bytes) for m < M, n < N, N ≥ 8.
 * a: ⌈M/4⌉ A panels of kPairs·16 bytes; b: ⌈N/8⌉ B panels of kPairs·32 bytes, panel j holding the columns
 * min(8j, N - 8) .. +7 (the last one overlaps its neighbour instead of being partial, so every store is a whole
 * 8-byte row); bias int32 and mult f32 per row (M values) or per column (N values).
 */
export type Qs8GemmKernel = (
  M: number, N: number, kPairs: number, a: number, b: number, y: number, ldy: number, bias: number, mult: number,
  zp: number, lo: number, hi: number,
) => void;

/**
 * qs8_pack_cols(src, ld, K, N, flip, shift, dst): B panels (see Qs8GemmKernel) of the K×N byte matrix at src
 * (row stride ld bytes, N ≥ 8): element (k, n) becomes int16 (byte ^ flip, as int8) - shift, i.e. x - x_zp with
 * flip = 0, shift = x_zp for int8 data and flip = 0x80, shift = x_zp - 128 for uint8 data. An odd K repeats
 * its last row in the padding pair (the A panels hold 0 there).
 */
export type Qs8PackKernel = (src: number, ld: number, K: number, N: number, flip: number, shift: number, dst: number) => void;

/**
 * qs8_dwconv_{K}x{K}s{S}(x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw, filters,
 * bias, mult, flip, zp, lo, hi): the interior outputs [rowLo, rowHi) × [colLo, colHi) (colHi - colLo ≥ 4) of a
 * depthwise K×K convolution with stride S over `planes` planes (x, y byte offsets of the first planes, planeIn /
 * planeOut plane sizes in bytes):
 *   y[oh·OW + ow] = requantize(Σ_{kh,kw} (x[(S·oh - ph + kh)·W + S·ow - pw + kw] ^ flip) · f[kh·K + kw] + bias)
 * (x ^ flip read as int8; f = w - w_zp, int32 per tap and plane at `filters`; bias int32 and mult f32 per plane,
 * the caller folds the zero points into bias: Σ (x - zx)·f = Σ (x ^ flip)·f - (zx - 128·[flip])·Σf).
 * Four outputs per step; a row's last step is shifted left to end at colHi (recomputing a few outputs).
 * Reads only the bytes the windows cover.
 */
export type Qs8DepthwiseKernel = (
  x: number, W: number, planeIn: number, y: number, OW: number, planeOut: number, planes: number, rowLo: number,
  rowHi: number, colLo: number, colHi: number, ph: number, pw: number, filters: number, bias: number, mult: number,
  flip: number, zp: number, lo: number, hi: number,
) => void;

/** Qs8DepthwiseKernel with the float store: y, planeOut address floats (byte offsets), fbias a float32 per plane. */
export type Qs8DepthwiseF32Kernel = (
  x: number, W: number, planeIn: number, y: number, OW: number, planeOut: number, planes: number, rowLo: number,
  rowHi: number, colLo: number, colHi: number, ph: number, pw: number, filters: number, bias: number, mult: number,
  flip: number, zp: number, lo: number, hi: number, fbias: number,
) => void;

/**
 * qs8_v{add,mul}(a, b, y, n, flip, za, zb, sa, sb, sc, zc, lo, hi): for i < 4·⌊n/4⌋ (the caller does the rest),
 *   y[i] = clamp(roundHalfEven(f32(f32(sa·(a[i] - za)) ∘ f32(sb·(b[i] - zb))) / sc) + zc, lo, hi)
 * in float32 steps, as com.microsoft QLinearAdd / QLinearMul (the JS kernel, MlasQLinearAdd's scalar path).
 * Bytes are read as int8 after ^ flip (0x80 for uint8 data, whose za, zb the caller passes minus 128). y may alias a.
 */
export type Qs8BinaryPlanesKernel = (
  a: number, b: number, y: number, planes: number, S: number, bCount: number, flip: number, za: number, zb: number,
  sa: number, sb: number, sc: number, zc: number, lo: number, hi: number,
) => void;

export type Qs8BinaryKernel = (
  a: number, b: number, y: number, n: number, flip: number, za: number, zb: number, sa: number, sb: number, sc: number,
  zc: number, lo: number, hi: number,
) => void;

/** Depthwise kernel sizes and strides generated. */
export const QS8_DEPTHWISE_SHAPES: readonly (readonly [number, number])[] = [[3, 1], [3, 2], [5, 1], [5, 2]];

export interface Int8Kernels {
  readonly padPlanes: Qs8PadPlanesKernel;
  /** padPlanes for rows of 4 to 7 bytes (copies 4 at a time). */
  readonly padPlanesNarrow: Qs8PadPlanesKernel;
  readonly quantize: Qs8QuantizeKernel;
  readonly requantize: Qs8RequantizeKernel;
  /** im2col of padded planes by stride: [stride 1, stride 2]. */
  readonly im2col: readonly [Qs8Im2colKernel, Qs8Im2colKernel];
  readonly add: Qs8BinaryKernel;
  readonly mul: Qs8BinaryKernel;
  /** add / mul with one b value per plane of a (see emitBinaryPlanes), [uint8 out, int8 out]. */
  readonly addPlanes: readonly [Qs8BinaryPlanesKernel, Qs8BinaryPlanesKernel];
  readonly mulPlanes: readonly [Qs8BinaryPlanesKernel, Qs8BinaryPlanesKernel];
  /** Depthwise interiors keyed `${K}x${K}s${S}`, four outputs per step (interiors 4 to 7 wide). */
  readonly depthwise: Readonly<Record<string, Qs8DepthwiseKernel>>;
  /** The same, eight outputs and two taps per dot (interiors at least 8 wide; filters as int16 pairs). */
  readonly depthwiseDot: Readonly<Record<string, Qs8DepthwiseKernel>>;
  /** depthwiseDot with the float32 store f32(f32(f32(acc)·mult) + fbias) clamped to [lo, hi] (y in floats). */
  readonly depthwiseDotF32: Readonly<Record<string, Qs8DepthwiseF32Kernel>>;
  /** Bias and multiplier per row (convolution: rows are output channels). */
  readonly gemmRowChannels: Qs8GemmKernel;
  /** Bias and multiplier per column (MatMul / Gemm: columns are output features). */
  /** gemmRowChannels with the row panels as the outer loop (weights larger than the per-call panels). */
  readonly gemmRowChannelsRowsOuter: Qs8GemmKernel;
  readonly gemmColChannels: Qs8GemmKernel;
  /** As gemmColChannels with a float32 output f32(f32(acc + bias)·mult) (ldy in elements; zp, lo, hi unused). */
  readonly gemmColChannelsF32: Qs8GemmKernel;
  readonly packCols: Qs8PackKernel;
  /** The exact int32 accumulators, ldy in elements (MatMulInteger, ConvInteger): bias, mult, zp, lo, hi unused. */
  readonly gemmI32: Qs8GemmKernel;
  readonly gemmI32RowsOuter: Qs8GemmKernel;
  /** f32(f32(f32(acc)·mult) + bias) with float32 bias and mult per column / per row, ldy in elements. */
  readonly gemmAffineCols: Qs8GemmKernel;
  readonly gemmAffineRows: Qs8GemmKernel;
  readonly gemmAffineRowsRowsOuter: Qs8GemmKernel;
  /**
   * Under 8 columns (qs8_gemv_4x1c2): gemmRowChannels, gemmI32 and gemmAffineRows for any N ≥ 1, B packed by
   * packColsNarrow (one column of int16 pairs after another) instead of packCols.
   */
  readonly gemvRowChannels: Qs8GemmKernel;
  readonly gemvI32: Qs8GemmKernel;
  readonly gemvAffineRows: Qs8GemmKernel;
  readonly packColsNarrow: Qs8PackKernel;
}

export function qs8GemmName(axis: ChannelAxis): string {
  return `qs8_gemm_${QS8_TILE_ROWS}x${QS8_TILE_COLS}c2__wasmsimd_dot16x2_${axis === 'rows' ? 'rowq' : 'colq'}`;
}
export const QS8_PACK_NAME = 'qs8_pack_cols_x8c2__wasmsimd';
export const QS8_GEMM_F32_NAME = `qs8_gemm_${QS8_TILE_ROWS}x${QS8_TILE_COLS}c2__wasmsimd_dot16x2_colf32`;
export const QS8_GEMM_I32_NAME = `qs8_gemm_${QS8_TILE_ROWS}x${QS8_TILE_COLS}c2__wasmsimd_dot16x2_i32`;
export function qs8GemmAffineName(axis: ChannelAxis): string {
  return `qs8_gemm_${QS8_TILE_ROWS}x${QS8_TILE_COLS}c2__wasmsimd_dot16x2_${axis === 'rows' ? 'row' : 'col'}affine`;
}

/** 1.5·2^23: adding and subtracting it rounds an f32 below 2^22 in magnitude to the nearest even integer. */
const ROUND_MAGIC_F32 = 12582912;
/** Byte lanes taking the low byte of each int32 lane of (a ++ b): eight 8-bit outputs in the low half. */
const LOW_BYTES = [0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28];
/** Byte lanes interleaving the low halves of (a ++ b): a0 b0 a1 b1 … a7 b7. */
const INTERLEAVE_LOW = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];

/**
 * Loop order of the GEMM driver: column blocks outside (each B panel read once, the A panels again per block)
 * or row panels outside (each A panel read once, the B panels again per panel). Which is faster depends on the
 * sizes and the caches; the callers pick by measurement.
 */
export type GemmOrder = 'colsOuter' | 'rowsOuter';

/**
 * What the GEMM's store writes per output: 'q8' requantized bytes, 'f32' f32(f32(acc + bias)·mult), 'i32' the exact
 * int32 accumulator (MatMulInteger, ConvInteger; bias and mult unread), 'f32affine' f32(f32(f32(acc)·mult) + bias)
 * with a float32 bias (the Cast → Mul → Add epilogue of a dynamically quantized MatMul / Conv, in the graph's order),
 * then clamped to [lo, hi] as Math.min(Math.max(v, lo), hi) (a fused Relu / Clip; ±Infinity for none).
 */
export type GemmOutput = 'q8' | 'f32' | 'i32' | 'f32affine';

function emitGemm(axis: ChannelAxis, output: GemmOutput = 'q8', order: GemmOrder = 'colsOuter'): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32]);
  const [M, N, KP, a, b, y, ldy, bias, mult, zp, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const cb = f.local(I32), c0 = f.local(I32), m0 = f.local(I32), ap = f.local(I32), bp = f.local(I32), k = f.local(I32);
  const aPanel = f.local(I32), bPanel = f.local(I32), aBytes = f.local(I32), bBytes = f.local(I32), yRow = f.local(I32);
  const acc = Array.from({ length: 2 * QS8_TILE_ROWS }, () => f.local(V128));
  const vb0 = f.local(V128), vb1 = f.local(V128), va = f.local(V128);
  const magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  const colBias = [f.local(V128), f.local(V128)], colMult = [f.local(V128), f.local(V128)];
  f.get(KP).i32(QS8_A_PAIR_BYTES).op('i32.mul').set(aBytes);
  f.get(KP).i32(QS8_B_PAIR_BYTES).op('i32.mul').set(bBytes);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  const columnSetup = () => {
    minInto(f, c0, local(cb), (g) => g.get(N).i32(QS8_TILE_COLS).op('i32.sub'));
    if (axis === 'cols' && output !== 'i32') {
      for (let h = 0; h < 2; h++) {
        f.get(bias).get(c0).i32(2).op('i32.shl').op('i32.add').v128Load(16 * h, 2).set(colBias[h]!);
        f.get(mult).get(c0).i32(2).op('i32.shl').op('i32.add').v128Load(16 * h, 2).set(colMult[h]!);
      }
    }
  };
  const tile = () => {
    for (const v of acc) f.v128Const(new Uint8Array(16)).set(v);
    f.get(aPanel).set(ap);
    f.get(bPanel).set(bp);
    f.get(KP).set(k);
    f.block().loop();
    f.get(k).op('i32.eqz').brIf(1);
    f.get(bp).v128Load(0).set(vb0);
    f.get(bp).v128Load(16).set(vb1);
    for (let r = 0; r < QS8_TILE_ROWS; r++) {
      f.get(ap).simdMem('v128.load32_splat', 4 * r).set(va);
      f.get(acc[2 * r]!).get(va).get(vb0).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc[2 * r]!);
      f.get(acc[2 * r + 1]!).get(va).get(vb1).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc[2 * r + 1]!);
    }
    f.get(ap).i32(QS8_A_PAIR_BYTES).op('i32.add').set(ap);
    f.get(bp).i32(QS8_B_PAIR_BYTES).op('i32.add').set(bp);
    f.get(k).i32(1).op('i32.sub').set(k);
    f.br(0);
    f.end().end();
    for (let r = 0; r < QS8_TILE_ROWS; r++) {
      if (r > 0) f.get(m0).i32(r).op('i32.add').get(M).op('i32.lt_s').if();
      // yRow = y + ((m0 + r)·ldy + c0)·elementBytes
      f.get(y).get(m0).i32(r).op('i32.add').get(ldy).op('i32.mul').get(c0).op('i32.add');
      if (output !== 'q8') f.i32(2).op('i32.shl');
      f.op('i32.add').set(yRow);
      if (output === 'q8') f.get(yRow);
      for (let h = 0; h < 2; h++) {
        if (output !== 'q8') f.get(yRow);
        f.get(acc[2 * r + h]!);
        if (output === 'i32') {
          f.v128Store(16 * h, 0);
          continue;
        }
        const rowParam = (base: number) => f.get(base).get(m0).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 4 * r);
        if (output === 'f32affine') {
          f.simd('f32x4.convert_i32x4_s');
          if (axis === 'cols') f.get(colMult[h]!);
          else rowParam(mult);
          f.simd('f32x4.mul');
          if (axis === 'cols') f.get(colBias[h]!);
          else rowParam(bias);
          // The fused clamp (Relu, Clip; ±Infinity for none) as Math.min(Math.max(v, lo), hi).
          f.simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min').v128Store(16 * h, 0);
          continue;
        }
        if (axis === 'cols') f.get(colBias[h]!);
        else f.get(bias).get(m0).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 4 * r);
        f.simd('i32x4.add');
        const multiplier = () => {
          if (axis === 'cols') f.get(colMult[h]!);
          else f.get(mult).get(m0).i32(2).op('i32.shl').op('i32.add').simdMem('v128.load32_splat', 4 * r);
        };
        if (output === 'q8') emitRequantize(f, multiplier, magic, zpv, lov, hiv);
        else {
          f.simd('f32x4.convert_i32x4_s');
          multiplier();
          f.simd('f32x4.mul').v128Store(16 * h, 0);
        }
      }
      if (output === 'q8') f.shuffle(LOW_BYTES).store64Lane(0, 0, 0);
      if (r > 0) f.end();
    }
  };
  if (order === 'colsOuter') {
    f.get(b).set(bPanel);
    forLoop(f, cb, konst(0), local(N), konst(QS8_TILE_COLS), () => {
      columnSetup();
      f.get(a).set(aPanel);
      forLoop(f, m0, konst(0), local(M), konst(QS8_TILE_ROWS), () => {
        tile();
        f.get(aPanel).get(aBytes).op('i32.add').set(aPanel);
      });
      f.get(bPanel).get(bBytes).op('i32.add').set(bPanel);
    });
  } else {
    f.get(a).set(aPanel);
    forLoop(f, m0, konst(0), local(M), konst(QS8_TILE_ROWS), () => {
      f.get(b).set(bPanel);
      forLoop(f, cb, konst(0), local(N), konst(QS8_TILE_COLS), () => {
        columnSetup();
        tile();
        f.get(bPanel).get(bBytes).op('i32.add').set(bPanel);
      });
      f.get(aPanel).get(aBytes).op('i32.add').set(aPanel);
    });
  }
  return f;
}

/** Emits the requantization of the int32x4 on the stack (bias already added): clamp(round(f32(v)·mult) + zp). */
function emitRequantize(f: FunctionBuilder, mult: () => void, magic: number, zpv: number, lov: number, hiv: number): void {
  f.simd('f32x4.convert_i32x4_s');
  mult();
  f.simd('f32x4.mul');
  f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
  f.get(zpv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
  f.simd('i32x4.trunc_sat_f32x4_s');
}

/** Byte lanes picking bytes 0, 2 of a and 1, 3 of b: the stride-2 taps kw, kw+2, kw+4, kw+6 from two 4-byte loads at kw, kw+3. */
const STRIDE2_BYTES = [0, 2, 17, 19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function emitDepthwise(K: number, S: number): FunctionBuilder {
  const f = new FunctionBuilder([...new Array<ValType>(17).fill(I32), F32, F32, F32]);
  const [x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw, filters, bias, mult, flip, zp, lo, hi] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const;
  const c = f.local(I32), oh = f.local(I32), ow = f.local(I32), owc = f.local(I32), rowp = f.local(I32), base = f.local(I32);
  const filt = f.local(I32), biasp = f.local(I32), multp = f.local(I32), last = f.local(I32);
  const rowAt = Array.from({ length: K }, () => f.local(I32));
  const acc = f.local(V128), flipv = f.local(V128), magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  f.get(flip).simd('i8x16.splat').set(flipv);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(filters).set(filt);
  f.get(bias).set(biasp);
  f.get(mult).set(multp);
  f.get(colHi).i32(4).op('i32.sub').set(last);
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
      // rowp = x + (S·oh - ph)·W - pw
      f.get(x).get(oh).i32(S).op('i32.mul').get(ph).op('i32.sub').get(W).op('i32.mul').op('i32.add').get(pw).op('i32.sub').set(rowp);
      forLoop(f, ow, local(colLo), local(colHi), konst(4), () => {
        minInto(f, owc, local(ow), local(last));
        f.get(rowp).get(owc).i32(S).op('i32.mul').op('i32.add').set(base);
        for (let kh = 0; kh < K; kh++) {
          f.get(base);
          if (kh > 0) f.get(W).i32(kh).op('i32.mul').op('i32.add');
          f.set(rowAt[kh]!);
        }
        f.get(biasp).simdMem('v128.load32_splat').set(acc);
        for (let kh = 0; kh < K; kh++) {
          for (let kw = 0; kw < K; kw++) {
            f.get(acc);
            if (S === 1) f.get(rowAt[kh]!).simdMem('v128.load32_zero', kw, 0);
            else f.get(rowAt[kh]!).simdMem('v128.load32_zero', kw, 0).get(rowAt[kh]!).simdMem('v128.load32_zero', kw + 3, 0).shuffle(STRIDE2_BYTES);
            f.get(flipv).simd('v128.xor').simd('i16x8.extend_low_i8x16_s').simd('i32x4.extend_low_i16x8_s');
            f.get(filt).simdMem('v128.load32_splat', 4 * (kh * K + kw)).simd('i32x4.mul').simd('i32x4.add').set(acc);
          }
        }
        // y + oh·OW + owc ← the low bytes of the four requantized lanes
        f.get(y).get(oh).get(OW).op('i32.mul').op('i32.add').get(owc).op('i32.add');
        f.get(acc);
        emitRequantize(f, () => f.get(multp).simdMem('v128.load32_splat'), magic, zpv, lov, hiv);
        f.set(acc).get(acc).get(acc).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
      });
    });
    f.get(x).get(planeIn).op('i32.add').set(x);
    f.get(y).get(planeOut).op('i32.add').set(y);
    f.get(filt).i32(4 * K * K).op('i32.add').set(filt);
    f.get(biasp).i32(4).op('i32.add').set(biasp);
    f.get(multp).i32(4).op('i32.add').set(multp);
  });
  return f;
}

/** The QLinear binary kernels' per-call constants splat into vector locals (a's side and the requantization). */
function splatBinaryParams(f: FunctionBuilder, flip: number, za: number, sa: number, sc: number, zc: number, lo: number, hi: number) {
  const flipv = f.local(V128), zav = f.local(V128), sav = f.local(V128), scv = f.local(V128);
  const magic = f.local(V128), zcv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  f.get(flip).simd('i8x16.splat').set(flipv);
  f.get(za).simd('i32x4.splat').set(zav);
  f.get(sa).simd('f32x4.splat').set(sav);
  f.get(sc).simd('f32x4.splat').set(scv);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zc).simd('f32x4.splat').set(zcv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  return { flipv, zav, sav, scv, magic, zcv, lov, hiv };
}

function emitBinary(op: 'add' | 'mul'): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32]);
  const [a, b, y, n, flip, za, zb, sa, sb, sc, zc, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;
  const i = f.local(I32), end = f.local(I32);
  const { flipv, zav, sav, scv, magic, zcv, lov, hiv } = splatBinaryParams(f, flip, za, sa, sc, zc, lo, hi);
  const zbv = f.local(V128), sbv = f.local(V128), v = f.local(V128);
  f.get(zb).simd('i32x4.splat').set(zbv);
  f.get(sb).simd('f32x4.splat').set(sbv);
  f.get(n).i32(-4).op('i32.and').set(end);
  const dequantized = (ptr: number, zv: number, sv: number) => {
    f.get(ptr).get(i).op('i32.add').simdMem('v128.load32_zero', 0, 0).get(flipv).simd('v128.xor');
    f.simd('i16x8.extend_low_i8x16_s').simd('i32x4.extend_low_i16x8_s').get(zv).simd('i32x4.sub');
    f.simd('f32x4.convert_i32x4_s').get(sv).simd('f32x4.mul');
  };
  forLoop(f, i, konst(0), local(end), konst(4), () => {
    f.get(y).get(i).op('i32.add');
    dequantized(a, zav, sav);
    dequantized(b, zbv, sbv);
    f.simd(op === 'add' ? 'f32x4.add' : 'f32x4.mul').get(scv).simd('f32x4.div');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zcv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s').set(v);
    f.get(v).get(v).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
  });
  return f;
}

/**
 * qs8_v{add,mul}_planes__wasmsimd_{u8,s8}(a, b, y, planes, S, bCount, flip, za, zb, sa, sb, sc, zc, lo, hi): as qs8_v{add,mul}
 * where b is one value per plane of S elements (a squeeze-excitation scale, [N, C, H, W] ∘ [N, C, 1, 1]): plane p
 * combines a[p·S ..] with b[p mod bCount], and writes every element: 16 per step, then 4, then the last S mod 4
 * through the same vector arithmetic on a splat, one byte stored.
 */
function binaryPlanesName(op: 'add' | 'mul', signed: boolean): string {
  return `qs8_v${op}_planes__wasmsimd_${signed ? 's8' : 'u8'}`;
}

function emitBinaryPlanes(op: 'add' | 'mul', signed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32]);
  const [a, b, y, planes, S, bCount, flip, za, zb, sa, sb, sc, zc, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;
  const p = f.local(I32), i = f.local(I32), end = f.local(I32), end16 = f.local(I32), ap = f.local(I32), yp = f.local(I32);
  const bytes = f.local(V128), half = f.local(V128), r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const { flipv, zav, sav, scv, magic, zcv, lov, hiv } = splatBinaryParams(f, flip, za, sa, sc, zc, lo, hi);
  const bv = f.local(V128), v = f.local(V128);
  f.get(S).i32(-4).op('i32.and').set(end);
  f.get(S).i32(-16).op('i32.and').set(end16);
  /** The byte at the address on the stack, as the signed value the vector path gives it: sext8(byte ^ flip). */
  const signedByte = () => void f.i32Load8(false).get(flip).op('i32.xor').i32(24).op('i32.shl').i32(24).op('i32.shr_s');
  /** (dequantized a on the stack) ∘ bv, requantized: the i32x4 result in v. */
  const combineRequantize = () => {
    f.get(bv).simd(op === 'add' ? 'f32x4.add' : 'f32x4.mul').get(scv).simd('f32x4.div');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zcv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s').set(v);
  };
  forLoop(f, p, konst(0), local(planes), konst(1), () => {
    // bv = f32(sb·(b[p mod bCount] − zb)), every lane
    f.get(b).get(p).get(bCount).op('i32.rem_u').op('i32.add');
    signedByte();
    f.get(zb).op('i32.sub').simd('i32x4.splat').simd('f32x4.convert_i32x4_s').get(sb).simd('f32x4.splat').simd('f32x4.mul').set(bv);
    f.get(p).get(S).op('i32.mul').tee(ap).get(y).op('i32.add').set(yp);
    f.get(ap).get(a).op('i32.add').set(ap);
    // 16 bytes per step: four vectors of four, narrowed back to bytes by two saturating packs (exact: clamped).
    forLoop(f, i, konst(0), local(end16), konst(16), () => {
      f.get(ap).get(i).op('i32.add').v128Load(0, 0).get(flipv).simd('v128.xor').set(bytes);
      for (let k = 0; k < 4; k++) {
        f.get(bytes).simd(k < 2 ? 'i16x8.extend_low_i8x16_s' : 'i16x8.extend_high_i8x16_s').set(half);
        f.get(half).simd(k % 2 === 0 ? 'i32x4.extend_low_i16x8_s' : 'i32x4.extend_high_i16x8_s').get(zav).simd('i32x4.sub');
        f.simd('f32x4.convert_i32x4_s').get(sav).simd('f32x4.mul');
        combineRequantize();
        f.get(v).set(r[k]!);
      }
      f.get(yp).get(i).op('i32.add');
      f.get(r[0]!).get(r[1]!).simd('i16x8.narrow_i32x4_s').get(r[2]!).get(r[3]!).simd('i16x8.narrow_i32x4_s');
      f.simd(signed ? 'i8x16.narrow_i16x8_s' : 'i8x16.narrow_i16x8_u').v128Store(0, 0);
    });
    forLoop(f, i, local(end16), local(end), konst(4), () => {
      f.get(ap).get(i).op('i32.add').simdMem('v128.load32_zero', 0, 0).get(flipv).simd('v128.xor');
      f.simd('i16x8.extend_low_i8x16_s').simd('i32x4.extend_low_i16x8_s').get(zav).simd('i32x4.sub');
      f.simd('f32x4.convert_i32x4_s').get(sav).simd('f32x4.mul');
      combineRequantize();
      f.get(yp).get(i).op('i32.add').get(v).get(v).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
    });
    forLoop(f, i, local(end), local(S), konst(1), () => {
      f.get(ap).get(i).op('i32.add');
      signedByte();
      f.simd('i32x4.splat').get(zav).simd('i32x4.sub').simd('f32x4.convert_i32x4_s').get(sav).simd('f32x4.mul');
      combineRequantize();
      f.get(yp).get(i).op('i32.add').get(v).lane('i32x4.extract_lane', 0).i32Store8(0);
    });
  });
  return f;
}

/** Byte lanes interleaving the odd bytes of (a ++ b): a1 b1 a3 b3 … a15 b15 (stride-2 taps read from one byte early). */
const INTERLEAVE_ODD = [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31];

/**
 * qs8_dwconv_{K}x{K}s{S}__wasmsimd_dot16x2: as qs8_dwconv (same arguments, colHi - colLo ≥ 8) with eight outputs
 * per step and two taps per i32x4.dot_i16x8_s: the bytes of taps 2j and 2j+1 for the eight outputs are
 * interleaved by one shuffle, widened to int16 and dotted with the filter pair (f[2j], f[2j+1]) (int16 pairs, one
 * int32 per pair at `filters`, ⌈K²/2⌉ per plane, the odd tap paired with 0). Stride 2 loads 16 bytes from one
 * byte before the tap and keeps the odd ones, so no byte past the window is read.
 */
/**
 * The 8-wide depthwise kernel; with floatOutput (`qs8_dwconv_{K}x{K}s{S}__wasmsimd_dot16x2_f32`) the store writes
 * float32 f32(f32(f32(acc)·mult) + fbias) clamped to [lo, hi] (one more parameter: fbias, a float32 per plane; y,
 * OW, planeOut in bytes stay as for bytes ×4: y rows are OW floats), for the fused ConvInteger → Cast → Mul → Add.
 */
function emitDepthwiseDot(K: number, S: number, floatOutput = false): FunctionBuilder {
  const f = new FunctionBuilder([...new Array<ValType>(17).fill(I32), F32, F32, F32, ...(floatOutput ? [I32 as ValType] : [])]);
  const [x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw, filters, bias, mult, flip, zp, lo, hi] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const;
  const fbias = 20;
  const KS = K * K;
  const pairs = Math.ceil(KS / 2);
  const c = f.local(I32), oh = f.local(I32), ow = f.local(I32), owc = f.local(I32), rowp = f.local(I32), base = f.local(I32);
  const filt = f.local(I32), biasp = f.local(I32), multp = f.local(I32), last = f.local(I32);
  const rowAt = Array.from({ length: K }, () => f.local(I32));
  const acc0 = f.local(V128), acc1 = f.local(V128), v = f.local(V128), fp = f.local(V128);
  const flipv = f.local(V128), magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  f.get(flip).simd('i8x16.splat').set(flipv);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(filters).set(filt);
  f.get(bias).set(biasp);
  f.get(mult).set(multp);
  f.get(colHi).i32(8).op('i32.sub').set(last);
  const loadTap = (t: number) => {
    const kh = Math.floor(t / K), kw = t % K;
    if (S === 1) f.get(rowAt[kh]!).simdMem('v128.load64_zero', kw, 0);
    else f.get(rowAt[kh]!).i32(1).op('i32.sub').v128Load(kw, 0);
  };
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
      f.get(x).get(oh).i32(S).op('i32.mul').get(ph).op('i32.sub').get(W).op('i32.mul').op('i32.add').get(pw).op('i32.sub').set(rowp);
      forLoop(f, ow, local(colLo), local(colHi), konst(8), () => {
        minInto(f, owc, local(ow), local(last));
        f.get(rowp).get(owc).i32(S).op('i32.mul').op('i32.add').set(base);
        for (let kh = 0; kh < K; kh++) {
          f.get(base);
          if (kh > 0) f.get(W).i32(kh).op('i32.mul').op('i32.add');
          f.set(rowAt[kh]!);
        }
        f.get(biasp).simdMem('v128.load32_splat').tee(acc0).set(acc1);
        for (let j = 0; j < pairs; j++) {
          loadTap(2 * j);
          loadTap(Math.min(2 * j + 1, KS - 1));
          f.shuffle(S === 1 ? INTERLEAVE_LOW : INTERLEAVE_ODD).get(flipv).simd('v128.xor').set(v);
          f.get(filt).simdMem('v128.load32_splat', 4 * j).set(fp);
          f.get(acc0).get(v).simd('i16x8.extend_low_i8x16_s').get(fp).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc0);
          f.get(acc1).get(v).simd('i16x8.extend_high_i8x16_s').get(fp).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc1);
        }
        if (floatOutput) {
          // y + (oh·OW + owc)·4, two vectors of four floats.
          [acc0, acc1].forEach((a, j) => {
            f.get(y).get(oh).get(OW).op('i32.mul').get(owc).op('i32.add').i32(2).op('i32.shl').op('i32.add');
            f.get(a).simd('f32x4.convert_i32x4_s').get(multp).simdMem('v128.load32_splat').simd('f32x4.mul');
            f.get(fbias).simdMem('v128.load32_splat').simd('f32x4.add');
            f.get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min').v128Store(16 * j, 0);
          });
        } else {
          f.get(y).get(oh).get(OW).op('i32.mul').op('i32.add').get(owc).op('i32.add');
          for (const a of [acc0, acc1]) {
            f.get(a);
            emitRequantize(f, () => f.get(multp).simdMem('v128.load32_splat'), magic, zpv, lov, hiv);
          }
          f.shuffle(LOW_BYTES).store64Lane(0, 0, 0);
        }
      });
    });
    f.get(x).get(planeIn).op('i32.add').set(x);
    f.get(y).get(planeOut).op('i32.add').set(y);
    f.get(filt).i32(4 * pairs).op('i32.add').set(filt);
    f.get(biasp).i32(4).op('i32.add').set(biasp);
    f.get(multp).i32(4).op('i32.add').set(multp);
    if (floatOutput) f.get(fbias).i32(4).op('i32.add').set(fbias);
  });
  return f;
}

/**
 * qs8_pad_planes(src, W, planeIn, dst, Hp, Wp, top, left, rows, cols, planes, fill): copies `planes` planes
 * into planes of Hp×Wp bytes filled with `fill`, data row r (r < rows) at padded row top + r and its first `cols`
 * (≥ 8; ≥ 4 for the x4 variant) bytes at column left. Writes up to 15 bytes past the last padded plane (the caller leaves room); reads only
 * the copied bytes.
 */
export type Qs8PadPlanesKernel = (
  src: number, W: number, planeIn: number, dst: number, Hp: number, Wp: number, top: number, left: number, rows: number,
  cols: number, planes: number, fill: number,
) => void;

export const QS8_PAD_NAME = 'qs8_pad_planes__wasmsimd';

/** The pad kernel copying `chunk` (8 or 4) bytes at a time; the x4 variant serves rows of 4 to 7 bytes. */
function emitPadPlanes(chunk: 8 | 4): FunctionBuilder {
  const f = new FunctionBuilder(new Array<ValType>(12).fill(I32));
  const [src, W, planeIn, dst, Hp, Wp, top, left, rows, cols, planes, fill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] as const;
  const c = f.local(I32), r = f.local(I32), j = f.local(I32), jj = f.local(I32), d = f.local(I32), s = f.local(I32), lastChunk = f.local(I32);
  const fillv = f.local(V128);
  f.get(fill).simd('i8x16.splat').set(fillv);
  f.get(cols).i32(chunk).op('i32.sub').set(lastChunk);
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, r, konst(0), local(Hp), konst(1), () => {
      f.get(dst).get(r).get(Wp).op('i32.mul').op('i32.add').set(d);
      forLoop(f, j, konst(0), local(Wp), konst(16), () => {
        f.get(d).get(j).op('i32.add').get(fillv).v128Store(0, 0);
      });
      // A data row: top ≤ r < top + rows (unsigned compare of r - top).
      f.get(r).get(top).op('i32.sub').get(rows).op('i32.lt_u').if();
      f.get(src).get(r).get(top).op('i32.sub').get(W).op('i32.mul').op('i32.add').set(s);
      forLoop(f, j, konst(0), local(cols), konst(chunk), () => {
        minInto(f, jj, local(j), local(lastChunk));
        f.get(d).get(left).op('i32.add').get(jj).op('i32.add');
        if (chunk === 8) f.get(s).get(jj).op('i32.add').simdMem('v128.load64_zero', 0, 0).store64Lane(0, 0, 0);
        else f.get(s).get(jj).op('i32.add').i32Load(0, 0).i32Store(0, 0);
      });
      f.end();
    });
    f.get(src).get(planeIn).op('i32.add').set(src);
    f.get(dst).get(Hp).get(Wp).op('i32.mul').op('i32.add').set(dst);
  });
  return f;
}

/**
 * qs8_im2col_s{S}(src, Hp, Wp, planes, KH, KW, dh, dw, OH, OW, dst): the im2col matrix of `planes` padded planes
 * (Hp×Wp bytes each, e.g. from qs8_pad_planes, so no bounds), row (c, kh, kw) of OH·OW bytes:
 *   dst[((c·KH + kh)·KW + kw)·OH·OW + oh·OW + ow] = src[c·Hp·Wp + (S·oh + kh·dh)·Wp + S·ow + kw·dw]
 * eight outputs per step (OW ≥ 8; a row's last step shifted left). Stride 2 loads 16 bytes and keeps the even
 * ones, reading one byte past the last window (the padded buffer's slack).
 */
export type Qs8Im2colKernel = (
  src: number, Hp: number, Wp: number, planes: number, KH: number, KW: number, dh: number, dw: number, OH: number, OW: number, dst: number,
) => void;

const EVEN_BYTES = [0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14];

function emitIm2col(S: number): FunctionBuilder {
  const f = new FunctionBuilder(new Array<ValType>(11).fill(I32));
  const [src, Hp, Wp, planes, KH, KW, dh, dw, OH, OW, dst] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
  const c = f.local(I32), kh = f.local(I32), kw = f.local(I32), oh = f.local(I32), j = f.local(I32), jj = f.local(I32);
  const plane = f.local(I32), row = f.local(I32), lastChunk = f.local(I32), v = f.local(V128);
  f.get(OW).i32(8).op('i32.sub').set(lastChunk);
  f.get(src).set(plane);
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, kh, konst(0), local(KH), konst(1), () => {
      forLoop(f, kw, konst(0), local(KW), konst(1), () => {
        forLoop(f, oh, konst(0), local(OH), konst(1), () => {
          // row = plane + (S·oh + kh·dh)·Wp + kw·dw
          f.get(plane).get(oh).i32(S).op('i32.mul').get(kh).get(dh).op('i32.mul').op('i32.add').get(Wp).op('i32.mul').op('i32.add');
          f.get(kw).get(dw).op('i32.mul').op('i32.add').set(row);
          forLoop(f, j, konst(0), local(OW), konst(8), () => {
            minInto(f, jj, local(j), local(lastChunk));
            f.get(dst).get(jj).op('i32.add');
            if (S === 1) f.get(row).get(jj).op('i32.add').simdMem('v128.load64_zero', 0, 0);
            else f.get(row).get(jj).i32(1).op('i32.shl').op('i32.add').v128Load(0, 0).tee(v).get(v).shuffle(EVEN_BYTES);
            f.store64Lane(0, 0, 0);
          });
          f.get(dst).get(OW).op('i32.add').set(dst);
        });
      });
    });
    f.get(plane).get(Hp).get(Wp).op('i32.mul').op('i32.add').set(plane);
  });
  return f;
}

/**
 * qs8_quantize(x, y, n, scale, zp, lo, hi): y[i] = clamp(roundHalfEven(f32(x[i] / scale)) + zp, lo, hi) for
 * i < 4·⌊n/4⌋ (QuantizeLinear per tensor, float32 in, 8-bit out; the caller does the rest). NaN becomes 0 as a
 * typed-array store of NaN does.
 */
export type Qs8QuantizeKernel = (x: number, y: number, n: number, scale: number, zp: number, lo: number, hi: number) => void;

function emitQuantize(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, F32, F32, F32, F32]);
  const [x, y, n, scale, zp, lo, hi] = [0, 1, 2, 3, 4, 5, 6] as const;
  const i = f.local(I32), end = f.local(I32);
  const scalev = f.local(V128), magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128), v = f.local(V128);
  f.get(scale).simd('f32x4.splat').set(scalev);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(n).i32(-4).op('i32.and').set(end);
  forLoop(f, i, konst(0), local(end), konst(4), () => {
    f.get(y).get(i).op('i32.add');
    f.get(x).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 0).get(scalev).simd('f32x4.div');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zpv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s').set(v);
    f.get(v).get(v).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
  });
  return f;
}

/**
 * qs8_requantize(x, y, n, flip, zx, sx, sy, zy, lo, hi): y[i] = clamp(roundHalfEven(f32(f32(sx·(x[i] - zx)) / sy)) + zy,
 * lo, hi) for i < 4·⌊n/4⌋ (an 8-bit tensor moved to other quantization parameters, as QLinearConcat's inputs and
 * the JS lookup tables); bytes read as int8 after ^ flip, zx passed minus 128 for uint8 data.
 */
export type Qs8RequantizeKernel = (x: number, y: number, n: number, flip: number, zx: number, sx: number, sy: number, zy: number, lo: number, hi: number) => void;

function emitRequantizeBytes(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, F32, F32, F32, F32, F32]);
  const [x, y, n, flip, zx, sx, sy, zy, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const i = f.local(I32), end = f.local(I32);
  const flipv = f.local(V128), zxv = f.local(V128), sxv = f.local(V128), syv = f.local(V128);
  const magic = f.local(V128), zyv = f.local(V128), lov = f.local(V128), hiv = f.local(V128), v = f.local(V128);
  f.get(flip).simd('i8x16.splat').set(flipv);
  f.get(zx).simd('i32x4.splat').set(zxv);
  f.get(sx).simd('f32x4.splat').set(sxv);
  f.get(sy).simd('f32x4.splat').set(syv);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zy).simd('f32x4.splat').set(zyv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.get(n).i32(-4).op('i32.and').set(end);
  forLoop(f, i, konst(0), local(end), konst(4), () => {
    f.get(y).get(i).op('i32.add');
    f.get(x).get(i).op('i32.add').simdMem('v128.load32_zero', 0, 0).get(flipv).simd('v128.xor');
    f.simd('i16x8.extend_low_i8x16_s').simd('i32x4.extend_low_i16x8_s').get(zxv).simd('i32x4.sub');
    f.simd('f32x4.convert_i32x4_s').get(sxv).simd('f32x4.mul').get(syv).simd('f32x4.div');
    f.get(magic).simd('f32x4.add').get(magic).simd('f32x4.sub');
    f.get(zyv).simd('f32x4.add').get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
    f.simd('i32x4.trunc_sat_f32x4_s').set(v);
    f.get(v).get(v).shuffle(LOW_BYTES).lane('i32x4.extract_lane', 0).i32Store(0, 0);
  });
  return f;
}

export function qs8DepthwiseDotName(K: number, S: number): string {
  return `qs8_dwconv_${K}x${K}s${S}__wasmsimd_dot16x2`;
}

export function qs8DepthwiseName(K: number, S: number): string {
  return `qs8_dwconv_${K}x${K}s${S}__wasmsimd`;
}

function emitPackCols(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [src, ld, K, N, flip, shift, dst] = [0, 1, 2, 3, 4, 5, 6];
  const cb = f.local(I32), c0 = f.local(I32), k0 = f.local(I32), p0 = f.local(I32), p1 = f.local(I32), v = f.local(V128);
  const flipv = f.local(V128), shiftv = f.local(V128);
  f.get(flip).simd('i8x16.splat').set(flipv);
  f.get(shift).simd('i16x8.splat').set(shiftv);
  forLoop(f, cb, konst(0), local(N), konst(QS8_TILE_COLS), () => {
    minInto(f, c0, local(cb), (g) => g.get(N).i32(QS8_TILE_COLS).op('i32.sub'));
    forLoop(f, k0, konst(0), local(K), konst(2), () => {
      // p0 = src + k0·ld + c0; p1 = the next row, or p0 again past the last row.
      f.get(src).get(k0).get(ld).op('i32.mul').op('i32.add').get(c0).op('i32.add').set(p0);
      f.get(p0).get(ld).op('i32.add').get(p0).get(k0).i32(1).op('i32.add').get(K).op('i32.lt_s').select().set(p1);
      f.get(p0).simdMem('v128.load64_zero', 0, 0).get(p1).simdMem('v128.load64_zero', 0, 0).shuffle(INTERLEAVE_LOW);
      f.get(flipv).simd('v128.xor').set(v);
      f.get(dst).get(v).simd('i16x8.extend_low_i8x16_s').get(shiftv).simd('i16x8.sub').v128Store(0, 0);
      f.get(dst).get(v).simd('i16x8.extend_high_i8x16_s').get(shiftv).simd('i16x8.sub').v128Store(16, 0);
      f.get(dst).i32(QS8_B_PAIR_BYTES).op('i32.add').set(dst);
    });
  });
  return f;
}

/**
 * qs8_gemv_4x1c2(M, N, kPairs, a, b, y, ldy, bias, mult, zp, lo, hi): Qs8GemmKernel for the row-channel store with
 * fewer than 8 columns (a 1×1 convolution after a global pool: N = 1), one column at a time. a: the same ⌈M/4⌉ A
 * panels as qs8_gemm; b: N columns of kPairs int16 pairs each (4 bytes per pair, column n at b + 4·n·kPairs, from
 * qs8_pack_cols_x1c2). Per pair of k, one `i32x4.dot_i16x8_s` of the A panel's 16 bytes (four rows' pairs) with the
 * column's pair splat gives the four rows' partial sums, so a tile is one int32x4 (two accumulators alternate over
 * the pairs). The stores are those of qs8_gemm for `output`, one lane (row) at a time.
 */
function emitGemv(output: 'q8' | 'i32' | 'f32affine'): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32]);
  const [M, N, KP, a, b, y, ldy, bias, mult, zp, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const m0 = f.local(I32), n = f.local(I32), ap = f.local(I32), bp = f.local(I32), k = f.local(I32), aPanel = f.local(I32);
  const aBytes = f.local(I32), colBytes = f.local(I32), at = f.local(I32);
  const acc0 = f.local(V128), acc1 = f.local(V128), biasv = f.local(V128), multv = f.local(V128);
  const magic = f.local(V128), zpv = f.local(V128), lov = f.local(V128), hiv = f.local(V128);
  const elementBytes = output === 'q8' ? 1 : 4;
  f.get(KP).i32(QS8_A_PAIR_BYTES).op('i32.mul').set(aBytes);
  f.get(KP).i32(2).op('i32.shl').set(colBytes);
  f.f32(ROUND_MAGIC_F32).simd('f32x4.splat').set(magic);
  f.get(zp).simd('f32x4.splat').set(zpv);
  f.get(lo).simd('f32x4.splat').set(lov);
  f.get(hi).simd('f32x4.splat').set(hiv);
  f.v128Const(new Uint8Array(16)).set(biasv);
  f.v128Const(new Uint8Array(16)).set(multv);
  f.get(a).set(aPanel);
  forLoop(f, m0, konst(0), local(M), konst(QS8_TILE_ROWS), () => {
    if (output !== 'i32') {
      // The panel's four rows' bias and multiplier (the bits as they are: int32 or float32); rows past M repeat M - 1.
      for (let r = 0; r < QS8_TILE_ROWS; r++) {
        minInto(f, at, (g) => g.get(m0).i32(r).op('i32.add'), (g) => g.get(M).i32(1).op('i32.sub'));
        f.get(biasv).get(bias).get(at).i32(2).op('i32.shl').op('i32.add').i32Load(0).lane('i32x4.replace_lane', r).set(biasv);
        f.get(multv).get(mult).get(at).i32(2).op('i32.shl').op('i32.add').i32Load(0).lane('i32x4.replace_lane', r).set(multv);
      }
    }
    forLoop(f, n, konst(0), local(N), konst(1), () => {
      f.v128Const(new Uint8Array(16)).set(acc0);
      f.v128Const(new Uint8Array(16)).set(acc1);
      f.get(aPanel).set(ap);
      f.get(b).get(n).get(colBytes).op('i32.mul').op('i32.add').set(bp);
      f.get(KP).set(k);
      f.block().loop();
      f.get(k).i32(2).op('i32.lt_s').brIf(1);
      f.get(acc0).get(ap).v128Load(0).get(bp).simdMem('v128.load32_splat', 0).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc0);
      f.get(acc1).get(ap).v128Load(QS8_A_PAIR_BYTES).get(bp).simdMem('v128.load32_splat', 4).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc1);
      f.get(ap).i32(2 * QS8_A_PAIR_BYTES).op('i32.add').set(ap);
      f.get(bp).i32(8).op('i32.add').set(bp);
      f.get(k).i32(2).op('i32.sub').set(k);
      f.br(0);
      f.end().end();
      f.get(k).if();
      f.get(acc0).get(ap).v128Load(0).get(bp).simdMem('v128.load32_splat', 0).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc0);
      f.end();
      f.get(acc0).get(acc1).simd('i32x4.add');
      if (output === 'q8') {
        f.get(biasv).simd('i32x4.add');
        emitRequantize(f, () => f.get(multv), magic, zpv, lov, hiv);
      } else if (output === 'f32affine') {
        // f32(f32(f32(acc)·mult) + bias), then the fused clamp, as qs8_gemm's affine store.
        f.simd('f32x4.convert_i32x4_s').get(multv).simd('f32x4.mul').get(biasv).simd('f32x4.add');
        f.get(lov).simd('f32x4.max').get(hiv).simd('f32x4.min');
      }
      f.set(acc0);
      for (let r = 0; r < QS8_TILE_ROWS; r++) {
        if (r > 0) f.get(m0).i32(r).op('i32.add').get(M).op('i32.lt_s').if();
        // y + ((m0 + r)·ldy + n)·elementBytes
        f.get(y).get(m0).i32(r).op('i32.add').get(ldy).op('i32.mul').get(n).op('i32.add');
        if (elementBytes === 4) f.i32(2).op('i32.shl');
        f.op('i32.add');
        f.get(acc0).lane('i32x4.extract_lane', r);
        if (elementBytes === 4) f.i32Store(0, 0);
        else f.i32Store8(0);
        if (r > 0) f.end();
      }
    });
    f.get(aPanel).get(aBytes).op('i32.add').set(aPanel);
  });
  return f;
}

/**
 * qs8_pack_cols_x1c2(src, ld, K, N, flip, shift, dst): the B operand of qs8_gemv from the K×N byte matrix at src (row
 * stride ld bytes, any N): column n as ⌈K/2⌉ int16 pairs (x[2j, n], x[2j+1, n]) at dst + 4·n·⌈K/2⌉, each element
 * int16 (byte ^ flip, as int8) - shift (x - x_zp, as qs8_pack_cols); an odd K's padding element is 0.
 */
function emitPackColsNarrow(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [src, ld, K, N, flip, shift, dst] = [0, 1, 2, 3, 4, 5, 6];
  const n = f.local(I32), k = f.local(I32), p = f.local(I32), low = f.local(I32), high = f.local(I32);
  // (byte at `p` ^ flip) read as int8, minus shift
  const element = (at: () => void) => {
    at();
    f.i32Load8(false).get(flip).op('i32.xor').i32(24).op('i32.shl').i32(24).op('i32.shr_s').get(shift).op('i32.sub');
  };
  forLoop(f, n, konst(0), local(N), konst(1), () => {
    f.get(src).get(n).op('i32.add').set(p);
    forLoop(f, k, konst(0), local(K), konst(2), () => {
      element(() => f.get(p));
      f.set(low);
      f.i32(0).set(high);
      f.get(k).i32(1).op('i32.add').get(K).op('i32.lt_s').if();
      element(() => f.get(p).get(ld).op('i32.add'));
      f.set(high);
      f.end();
      f.get(dst).get(low).i32(0xffff).op('i32.and').get(high).i32(16).op('i32.shl').op('i32.or').i32Store(0, 0);
      f.get(dst).i32(4).op('i32.add').set(dst);
      f.get(p).get(ld).i32(1).op('i32.shl').op('i32.add').set(p);
    });
  });
  return f;
}

export const QS8_PACK_NARROW_NAME = 'qs8_pack_cols_x1c2__wasmsimd';
export function qs8GemvName(output: 'q8' | 'i32' | 'f32affine'): string {
  return `qs8_gemv_${QS8_TILE_ROWS}x1c2__wasmsimd_dot16x2_${output === 'q8' ? 'rowq' : output === 'i32' ? 'i32' : 'rowaffine'}`;
}

/** The int8 GEMM family: one small module compiled on first use (WasmContext.use). */
export const INT8_KERNELS: WasmModuleSpec<Int8Kernels> = {
  key: 'int8-gemm',
  build(m: ModuleBuilder) {
    m.addFunction(emitGemm('rows'), qs8GemmName('rows'));
    m.addFunction(emitGemm('rows', 'q8', 'rowsOuter'), `${qs8GemmName('rows')}_rows_outer`);
    m.addFunction(emitGemm('cols'), qs8GemmName('cols'));
    m.addFunction(emitGemm('cols', 'f32'), QS8_GEMM_F32_NAME);
    m.addFunction(emitGemm('cols', 'i32'), QS8_GEMM_I32_NAME);
    m.addFunction(emitGemm('cols', 'i32', 'rowsOuter'), `${QS8_GEMM_I32_NAME}_rows_outer`);
    m.addFunction(emitGemm('cols', 'f32affine'), qs8GemmAffineName('cols'));
    m.addFunction(emitGemm('rows', 'f32affine'), qs8GemmAffineName('rows'));
    m.addFunction(emitGemm('rows', 'f32affine', 'rowsOuter'), `${qs8GemmAffineName('rows')}_rows_outer`);
    m.addFunction(emitPackCols(), QS8_PACK_NAME);
    m.addFunction(emitPackColsNarrow(), QS8_PACK_NARROW_NAME);
    for (const output of ['q8', 'i32', 'f32affine'] as const) m.addFunction(emitGemv(output), qs8GemvName(output));
    for (const [K, S] of QS8_DEPTHWISE_SHAPES) {
      m.addFunction(emitDepthwise(K, S), qs8DepthwiseName(K, S));
      m.addFunction(emitDepthwiseDot(K, S), qs8DepthwiseDotName(K, S));
      m.addFunction(emitDepthwiseDot(K, S, true), `${qs8DepthwiseDotName(K, S)}_f32`);
    }
    m.addFunction(emitPadPlanes(8), QS8_PAD_NAME);
    m.addFunction(emitPadPlanes(4), `${QS8_PAD_NAME}_x4`);
    m.addFunction(emitQuantize(), 'qs8_quantize__wasmsimd');
    m.addFunction(emitRequantizeBytes(), 'qs8_requantize__wasmsimd');
    m.addFunction(emitIm2col(1), 'qs8_im2col_s1__wasmsimd');
    m.addFunction(emitIm2col(2), 'qs8_im2col_s2__wasmsimd');
    m.addFunction(emitBinary('add'), 'qs8_vadd__wasmsimd');
    m.addFunction(emitBinary('mul'), 'qs8_vmul__wasmsimd');
    for (const signed of [false, true]) {
      m.addFunction(emitBinaryPlanes('add', signed), binaryPlanesName('add', signed));
      m.addFunction(emitBinaryPlanes('mul', signed), binaryPlanesName('mul', signed));
    }
  },
  bind(e) {
    const depthwise: Record<string, Qs8DepthwiseKernel> = {};
    const depthwiseDot: Record<string, Qs8DepthwiseKernel> = {};
    const depthwiseDotF32: Record<string, Qs8DepthwiseF32Kernel> = {};
    for (const [K, S] of QS8_DEPTHWISE_SHAPES) {
      depthwise[`${K}x${K}s${S}`] = e[qs8DepthwiseName(K, S)] as Qs8DepthwiseKernel;
      depthwiseDot[`${K}x${K}s${S}`] = e[qs8DepthwiseDotName(K, S)] as Qs8DepthwiseKernel;
      depthwiseDotF32[`${K}x${K}s${S}`] = e[`${qs8DepthwiseDotName(K, S)}_f32`] as Qs8DepthwiseF32Kernel;
    }
    return {
      add: e['qs8_vadd__wasmsimd'] as Qs8BinaryKernel,
      padPlanes: e[QS8_PAD_NAME] as Qs8PadPlanesKernel,
      padPlanesNarrow: e[`${QS8_PAD_NAME}_x4`] as Qs8PadPlanesKernel,
      quantize: e['qs8_quantize__wasmsimd'] as Qs8QuantizeKernel,
      requantize: e['qs8_requantize__wasmsimd'] as Qs8RequantizeKernel,
      im2col: [e['qs8_im2col_s1__wasmsimd'] as Qs8Im2colKernel, e['qs8_im2col_s2__wasmsimd'] as Qs8Im2colKernel],
      mul: e['qs8_vmul__wasmsimd'] as Qs8BinaryKernel,
      addPlanes: [e[binaryPlanesName('add', false)], e[binaryPlanesName('add', true)]] as [Qs8BinaryPlanesKernel, Qs8BinaryPlanesKernel],
      mulPlanes: [e[binaryPlanesName('mul', false)], e[binaryPlanesName('mul', true)]] as [Qs8BinaryPlanesKernel, Qs8BinaryPlanesKernel],
      depthwise,
      depthwiseDot,
      depthwiseDotF32,
      gemmRowChannels: e[qs8GemmName('rows')] as Qs8GemmKernel,
      gemmRowChannelsRowsOuter: e[`${qs8GemmName('rows')}_rows_outer`] as Qs8GemmKernel,
      gemmColChannels: e[qs8GemmName('cols')] as Qs8GemmKernel,
      gemmColChannelsF32: e[QS8_GEMM_F32_NAME] as Qs8GemmKernel,
      gemmI32: e[QS8_GEMM_I32_NAME] as Qs8GemmKernel,
      gemmI32RowsOuter: e[`${QS8_GEMM_I32_NAME}_rows_outer`] as Qs8GemmKernel,
      gemmAffineCols: e[qs8GemmAffineName('cols')] as Qs8GemmKernel,
      gemmAffineRows: e[qs8GemmAffineName('rows')] as Qs8GemmKernel,
      gemmAffineRowsRowsOuter: e[`${qs8GemmAffineName('rows')}_rows_outer`] as Qs8GemmKernel,
      packCols: e[QS8_PACK_NAME] as Qs8PackKernel,
      packColsNarrow: e[QS8_PACK_NARROW_NAME] as Qs8PackKernel,
      gemvRowChannels: e[qs8GemvName('q8')] as Qs8GemmKernel,
      gemvI32: e[qs8GemvName('i32')] as Qs8GemmKernel,
      gemvAffineRows: e[qs8GemvName('f32affine')] as Qs8GemmKernel,
    };
  },
};
