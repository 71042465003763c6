import type { WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128 } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/** Byte lanes picking the even / odd f32 lanes of two vectors (a ++ b): [a0 a2 b0 b2] / [a1 a3 b1 b3]. */
const EVEN_F32 = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_F32 = EVEN_F32.map((l) => l + 4);
/** The even / odd bytes of two vectors. */
const EVEN_U8 = Array.from({ length: 16 }, (_, i) => 2 * i);
const ODD_U8 = EVEN_U8.map((l) => l + 1);

/** Element type of the planes: float32, or the uint8 / int8 tensors quantized models pool. */
export type PoolElement = 'f32' | 'u8' | 's8';

/**
 * {max,avg}pool(x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw): the interior outputs
 * [rowLo, rowHi) × [colLo, colHi) of every plane of a KH×KW pool with strides SH (any) × SW (1 or 2), dilation 1:
 *   y[oh·OW + ow] = max (or mean) over kh, kw of x[(SH·oh − ph + kh)·W + SW·ow − pw + kw]
 * x, y are byte offsets of the first planes, planeIn/planeOut plane sizes in bytes. float32 taps are reduced in
 * row-major order with pmax(acc, v) = acc < v ? v : acc, exactly the JS loop's `if (v > acc) acc = v` seeded by
 * the first tap (so NaN handling and ±0 ties match the JS kernel); bytes with i8x16.max_u / max_s. One vector
 * of outputs per step (4 floats or 16 bytes); stride 2 splits two vectors at c into even and odd lanes as the
 * depthwise kernel does, reading up to element c + 2⌊(KW−1)/2⌋ + 2·lanes − 1, so a step runs vectorized only
 * while that stays inside its row; the rest of the row runs scalar.
 */
function emitPool(mode: PoolMode, KH: number, KW: number, SH: number, SW: 1 | 2, elem: PoolElement = 'f32'): FunctionBuilder {
  const f = new FunctionBuilder(new Array<typeof I32>(13).fill(I32));
  const [x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const c = f.local(I32), oh = f.local(I32), r0 = f.local(I32), yi = f.local(I32), i = f.local(I32);
  const n = f.local(I32), iMax = f.local(I32), rowBytes = f.local(I32), p = f.local(I32), xc = f.local(I32), yc = f.local(I32);
  const acc = f.local(V128), lo = f.local(V128), hi = f.local(V128);
  const isFloat = elem === 'f32';
  const sacc = f.local(isFloat ? F32 : I32), sv = f.local(isFloat ? F32 : I32);
  const log2 = isFloat ? 2 : 0; // bytes per element = 2^log2
  const es = 1 << log2;
  const lanes = 16 / es;
  const toBytes = () => { if (log2 > 0) f.i32(log2).op('i32.shl'); };
  const vmax = elem === 'f32' ? 'f32x4.pmax' : elem === 'u8' ? 'i8x16.max_u' : 'i8x16.max_s';
  const [even, odd] = isFloat ? [EVEN_F32, ODD_F32] : [EVEN_U8, ODD_U8];
  f.get(W);
  toBytes();
  f.set(rowBytes);
  f.get(colHi).get(colLo).op('i32.sub').set(n);
  const last = 2 * Math.floor((KW - 1) / 2) + 2 * lanes - 1;
  if (SW === 1) f.get(n).set(iMax);
  else f.get(W).i32(1 + last).op('i32.sub').get(pw).op('i32.add').get(colLo).i32(1).op('i32.shl').op('i32.sub').i32(1).op('i32.shr_s').set(iMax);
  const combine = (first: boolean, value: () => void) => {
    if (first) { value(); f.set(acc); } else { f.get(acc); value(); f.simd(mode === 'max' ? vmax : 'f32x4.add').set(acc); }
  };
  const inverse = 1 / (KH * KW);
  f.get(x).set(xc);
  f.get(y).set(yc);
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
      // r0 = xc + es·((SH·oh − ph)·W + SW·colLo − pw); yi = yc + es·(oh·OW + colLo)
      f.get(xc).get(oh);
      if (SH === 2) f.i32(1).op('i32.shl');
      else if (SH !== 1) f.i32(SH).op('i32.mul');
      f.get(ph).op('i32.sub').get(W).op('i32.mul').get(colLo);
      if (SW === 2) f.i32(1).op('i32.shl');
      f.op('i32.add').get(pw).op('i32.sub');
      toBytes();
      f.op('i32.add').set(r0);
      f.get(yc).get(oh).get(OW).op('i32.mul').get(colLo).op('i32.add');
      toBytes();
      f.op('i32.add').set(yi);
      f.i32(0).set(i);
      f.block().loop();
      f.get(i).i32(lanes).op('i32.add').get(n).op('i32.gt_s').brIf(1);
      f.get(i).get(iMax).op('i32.gt_s').brIf(1);
      for (let kh = 0; kh < KH; kh++) {
        // p = r0 + kh·rowBytes + es·SW·i
        f.get(r0).get(i).i32(log2 + SW - 1).op('i32.shl').op('i32.add');
        if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
        f.set(p);
        if (SW === 1) {
          for (let kw = 0; kw < KW; kw++) combine(kh === 0 && kw === 0, () => f.get(p).v128Load(es * kw, 0));
        } else {
          for (let e = 0; e < KW; e += 2) {
            f.get(p).v128Load(es * e, 0).set(lo).get(p).v128Load(es * e + 16, 0).set(hi);
            combine(kh === 0 && e === 0, () => f.get(lo).get(hi).shuffle(even));
            if (e + 1 < KW) combine(false, () => f.get(lo).get(hi).shuffle(odd));
          }
        }
      }
      f.get(yi).get(i);
      toBytes();
      f.op('i32.add').get(acc);
      if (mode === 'avg') f.f32(inverse).simd('f32x4.splat').simd('f32x4.mul');
      f.v128Store(0, 0);
      f.get(i).i32(lanes).op('i32.add').set(i).br(0);
      f.end().end();
      // Scalar rest of the row: outputs [i, n), same tap order and comparison.
      forLoop(f, i, local(i), local(n), konst(1), () => {
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            f.get(r0).get(i).i32(log2 + SW - 1).op('i32.shl').op('i32.add');
            if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
            if (isFloat) f.f32Load(4 * kw);
            else f.i32Load8(elem === 's8', kw);
            if (kh === 0 && kw === 0) { f.set(sacc); continue; }
            if (mode === 'avg') { f.get(sacc).op('f32.add').set(sacc); continue; }
            // sacc = sacc < v ? v : sacc
            f.set(sv).get(sv).get(sacc).get(sacc).get(sv).op(isFloat ? 'f32.lt' : elem === 'u8' ? 'i32.lt_u' : 'i32.lt_s').select().set(sacc);
          }
        }
        f.get(yi).get(i);
        toBytes();
        f.op('i32.add').get(sacc);
        if (mode === 'avg') f.f32(inverse).op('f32.mul');
        if (isFloat) f.f32Store();
        else f.i32Store8();
      });
    });
    f.get(xc).get(planeIn).op('i32.add').set(xc);
    f.get(yc).get(planeOut).op('i32.add').set(yc);
  });
  return f;
}

/** (x, W, planeIn, y, OW, planeOut, planes, rowLo, rowHi, colLo, colHi, ph, pw), all byte offsets / counts. */
export type WasmMaxPoolInterior = (
  x: number, W: number, planeIn: number, y: number, OW: number, planeOut: number, planes: number,
  rowLo: number, rowHi: number, colLo: number, colHi: number, ph: number, pw: number,
) => void;

/** Largest window the generated max pool unrolls; larger windows stay in JS. */
export const MAX_POOL_UNROLL = 7;

export type PoolMode = 'max' | 'avg';

/**
 * The module of one pooling window shape (generated per shape on first use, a few hundred bytes). 'avg' sums
 * the taps in the same order and multiplies by 1/(KH·KW): interior windows have every tap inside, so that is
 * the mean whether or not padding counts.
 */
export function poolModule(mode: PoolMode, KH: number, KW: number, SH: number, elem: PoolElement = 'f32', SW: 1 | 2 = SH as 1 | 2): WasmModuleSpec<WasmMaxPoolInterior> {
  if (mode === 'avg' && elem !== 'f32') throw new RangeError('poolModule: average pooling is float32 only');
  if (SW !== 1 && SW !== 2) throw new RangeError(`poolModule: column stride ${SW} is not generated (1 or 2)`);
  const name = `${elem}_${mode}pool_${KH}x${KW}s${SH}${SW === SH ? '' : `x${SW}`}_interior__wasmsimd`;
  return {
    key: name,
    build(m) {
      m.addFunction(emitPool(mode, KH, KW, SH, SW, elem), name);
    },
    bind: (e) => e[name] as WasmMaxPoolInterior,
  };
}

/** Reducer of the generic pool: max, mean over the valid taps, mean over the taps inside the padded input. */
export type GenericPoolMode = 'max' | 'avg' | 'avgIncludePad';

/** Byte offsets of the fields of a generic pool's geometry table (i32 each). */
export const POOL_GEO = {
  planeIn: 0, planeOut: 4, W: 8, OW: 12, sh: 16, sw: 20, rowStep: 24, colStep: 28, ph: 32, pw: 36, rows: 40, cols: 44,
  bytes: 48,
} as const;

/**
 * {mode}pool_2d(x, y, planes, oh0, oh1, ow0, ow1, geo): outputs [oh0, oh1) × [ow0, ow1) of every plane of any 2-D
 * pool (window, strides, dilations, asymmetric pads, ceil_mode), by the tap ranges planned at prepare: `geo` (see
 * POOL_GEO) holds the plane sizes in bytes, W, OW, strides, the dilated tap steps in bytes (dh·W·4, dw·4), the
 * begin pads and two tables of three i32 per output row / column: first valid tap, end of valid taps, end of the
 * taps inside the padded input. Per output, in the reference's order: max seeds with the first valid tap
 * (−Infinity when none) and takes a tap when greater (`acc < v ? v : acc`, so NaN and ±0 behave as the JS
 * kernel); the means sum the taps in float32 and divide by the tap count. Scalar wasm: it serves the border
 * frame of the SIMD interior kernels and whole layers of the shapes those do not cover (dilation, stride ≥ 3,
 * windows over 7).
 */
function emitGenericPool(mode: GenericPoolMode): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32]);
  const [x, y, planes, oh0, oh1, ow0, ow1, geo] = [0, 1, 2, 3, 4, 5, 6, 7];
  const g = Object.fromEntries(['planeIn', 'planeOut', 'W', 'OW', 'sh', 'sw', 'rowStep', 'colStep', 'ph', 'pw', 'rows', 'cols'].map((k) => [k, f.local(I32)])) as Record<string, number>;
  const pl = f.local(I32), oh = f.local(I32), ow = f.local(I32), xp = f.local(I32), yp = f.local(I32), rowBase = f.local(I32);
  const rlo = f.local(I32), rhi = f.local(I32), rpad = f.local(I32), clo = f.local(I32), chi = f.local(I32), cpad = f.local(I32);
  const colBase = f.local(I32), kh = f.local(I32), kw = f.local(I32), r = f.local(I32), rt = f.local(I32), ct = f.local(I32);
  const acc = f.local(F32), v = f.local(F32);
  for (const [k, at] of Object.entries(POOL_GEO)) if (k !== 'bytes') f.get(geo).i32Load(at).set(g[k]!);
  forLoop(f, pl, konst(0), local(planes), konst(1), () => {
    f.get(x).get(pl).get(g.planeIn!).op('i32.mul').op('i32.add').set(xp);
    f.get(y).get(pl).get(g.planeOut!).op('i32.mul').op('i32.add').set(yp);
    forLoop(f, oh, local(oh0), local(oh1), konst(1), () => {
      f.get(g.rows!).get(oh).i32(12).op('i32.mul').op('i32.add').set(rt);
      f.get(rt).i32Load(0).set(rlo);
      f.get(rt).i32Load(4).set(rhi);
      f.get(rt).i32Load(8).set(rpad);
      // rowBase = xp + 4·(oh·sh − ph)·W
      f.get(xp).get(oh).get(g.sh!).op('i32.mul').get(g.ph!).op('i32.sub').get(g.W!).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(rowBase);
      forLoop(f, ow, local(ow0), local(ow1), konst(1), () => {
        f.get(g.cols!).get(ow).i32(12).op('i32.mul').op('i32.add').set(ct);
        f.get(ct).i32Load(0).set(clo);
        f.get(ct).i32Load(4).set(chi);
        f.get(ct).i32Load(8).set(cpad);
        f.get(rowBase).get(ow).get(g.sw!).op('i32.mul').get(g.pw!).op('i32.sub').i32(2).op('i32.shl').op('i32.add').set(colBase);
        if (mode === 'max') {
          f.f32(-Infinity).set(acc);
          f.get(rlo).get(rhi).op('i32.lt_s').get(clo).get(chi).op('i32.lt_s').op('i32.and').if();
          f.get(colBase).get(rlo).get(g.rowStep!).op('i32.mul').op('i32.add').get(clo).get(g.colStep!).op('i32.mul').op('i32.add').f32Load(0).set(acc);
          f.end();
        } else f.f32(0).set(acc);
        forLoop(f, kh, local(rlo), local(rhi), konst(1), () => {
          f.get(colBase).get(kh).get(g.rowStep!).op('i32.mul').op('i32.add').set(r);
          forLoop(f, kw, local(clo), local(chi), konst(1), () => {
            f.get(r).get(kw).get(g.colStep!).op('i32.mul').op('i32.add').f32Load(0).set(v);
            if (mode === 'max') f.get(v).get(acc).get(acc).get(v).op('f32.lt').select().set(acc);
            else f.get(acc).get(v).op('f32.add').set(acc);
          });
        });
        f.get(yp).get(oh).get(g.OW!).op('i32.mul').get(ow).op('i32.add').i32(2).op('i32.shl').op('i32.add');
        f.get(acc);
        if (mode !== 'max') {
          if (mode === 'avg') f.get(rhi).get(rlo).op('i32.sub').get(chi).get(clo).op('i32.sub').op('i32.mul');
          else f.get(rpad).get(cpad).op('i32.mul');
          // i32 -> f32 through a vector (the emitter's scalar table has no convert)
          f.simd('i32x4.splat').simd('f32x4.convert_i32x4_s').lane('f32x4.extract_lane', 0).op('f32.div');
        }
        f.f32Store(0);
      });
    });
  });
  return f;
}

/** rowmax(x, rows, n, y): y[r] = max of row r's n floats, seeded by its first (NaN-propagating like the JS loop). */
function emitRowMax(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32]);
  const [x, rows, n, y] = [0, 1, 2, 3];
  const r = f.local(I32), i = f.local(I32), p = f.local(I32), full = f.local(I32), acc = f.local(F32), v = f.local(F32), va = f.local(V128);
  f.get(n).i32(-4).op('i32.and').set(full);
  forLoop(f, r, konst(0), local(rows), konst(1), () => {
    f.get(x).get(r).get(n).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(p);
    // Four running maxima, combined, then the rest; `v > acc || v is NaN` takes v, as GlobalMaxPool's JS loop.
    f.get(p).simdMem('v128.load32_splat', 0).set(va);
    forLoop(f, i, konst(0), local(full), konst(4), () => {
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2).get(va).simd('f32x4.max').set(va);
    });
    f.get(va).lane('f32x4.extract_lane', 0).get(va).lane('f32x4.extract_lane', 1).op('f32.max');
    f.get(va).lane('f32x4.extract_lane', 2).get(va).lane('f32x4.extract_lane', 3).op('f32.max').op('f32.max').set(acc);
    forLoop(f, i, local(full), local(n), konst(1), () => {
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').f32Load(0).set(v);
      f.get(acc).get(v).op('f32.max').set(acc);
    });
    f.get(y).get(r).i32(2).op('i32.shl').op('i32.add').get(acc).f32Store(0);
  });
  return f;
}

export type WasmGenericPool = (x: number, y: number, planes: number, oh0: number, oh1: number, ow0: number, ow1: number, geo: number) => void;

export interface WasmGenericPools {
  readonly max: WasmGenericPool;
  readonly avg: WasmGenericPool;
  readonly avgIncludePad: WasmGenericPool;
  /** (x, rows, n, y) */
  readonly rowMax: (x: number, rows: number, n: number, y: number) => void;
}

const GENERIC_NAMES = {
  max: 'f32_maxpool_2d__wasmsimd',
  avg: 'f32_averagepool_2d__wasmsimd',
  avgIncludePad: 'f32_averagepool_2d_include_pad__wasmsimd',
  rowMax: 'f32_globalmaxpool__wasmsimd',
} as const;

/** The generic 2-D pools and the global max (one small module, compiled on first use). */
export const GENERIC_POOL_MODULE: WasmModuleSpec<WasmGenericPools> = {
  key: 'pool-generic',
  build(m) {
    m.addFunction(emitGenericPool('max'), GENERIC_NAMES.max);
    m.addFunction(emitGenericPool('avg'), GENERIC_NAMES.avg);
    m.addFunction(emitGenericPool('avgIncludePad'), GENERIC_NAMES.avgIncludePad);
    m.addFunction(emitRowMax(), GENERIC_NAMES.rowMax);
  },
  bind: (e) => Object.fromEntries(Object.entries(GENERIC_NAMES).map(([k, n]) => [k, e[n]])) as unknown as WasmGenericPools,
};
