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
 * [rowLo, rowHi) × [colLo, colHi) of every plane of a KH×KW pool with stride S (1 or 2, dilation 1):
 *   y[oh·OW + ow] = max (or mean) over kh, kw of x[(S·oh − ph + kh)·W + S·ow − pw + kw]
 * x, y are byte offsets of the first planes, planeIn/planeOut plane sizes in bytes. float32 taps are reduced in
 * row-major order with pmax(acc, v) = acc < v ? v : acc, exactly the JS loop's `if (v > acc) acc = v` seeded by
 * the first tap (so NaN handling and ±0 ties match the JS kernel); bytes with i8x16.max_u / max_s. One vector
 * of outputs per step (4 floats or 16 bytes); stride 2 splits two vectors at c into even and odd lanes as the
 * depthwise kernel does, reading up to element c + 2⌊(KW−1)/2⌋ + 2·lanes − 1, so a step runs vectorized only
 * while that stays inside its row; the rest of the row runs scalar.
 */
function emitPool(mode: PoolMode, KH: number, KW: number, S: 1 | 2, elem: PoolElement = 'f32'): FunctionBuilder {
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
  if (S === 1) f.get(n).set(iMax);
  else f.get(W).i32(1 + last).op('i32.sub').get(pw).op('i32.add').get(colLo).i32(1).op('i32.shl').op('i32.sub').i32(1).op('i32.shr_s').set(iMax);
  const combine = (first: boolean, value: () => void) => {
    if (first) { value(); f.set(acc); } else { f.get(acc); value(); f.simd(mode === 'max' ? vmax : 'f32x4.add').set(acc); }
  };
  const inverse = 1 / (KH * KW);
  f.get(x).set(xc);
  f.get(y).set(yc);
  forLoop(f, c, konst(0), local(planes), konst(1), () => {
    forLoop(f, oh, local(rowLo), local(rowHi), konst(1), () => {
      // r0 = xc + es·((S·oh − ph)·W + S·colLo − pw); yi = yc + es·(oh·OW + colLo)
      f.get(xc).get(oh);
      if (S === 2) f.i32(1).op('i32.shl');
      f.get(ph).op('i32.sub').get(W).op('i32.mul').get(colLo);
      if (S === 2) f.i32(1).op('i32.shl');
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
        // p = r0 + kh·rowBytes + es·S·i
        f.get(r0).get(i).i32(log2 + S - 1).op('i32.shl').op('i32.add');
        if (kh > 0) f.get(rowBytes).i32(kh).op('i32.mul').op('i32.add');
        f.set(p);
        if (S === 1) {
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
            f.get(r0).get(i).i32(log2 + S - 1).op('i32.shl').op('i32.add');
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
export function poolModule(mode: PoolMode, KH: number, KW: number, S: 1 | 2, elem: PoolElement = 'f32'): WasmModuleSpec<WasmMaxPoolInterior> {
  if (mode === 'avg' && elem !== 'f32') throw new RangeError('poolModule: average pooling is float32 only');
  const name = `${elem}_${mode}pool_${KH}x${KW}s${S}_interior__wasmsimd`;
  return {
    key: name,
    build(m) {
      m.addFunction(emitPool(mode, KH, KW, S, elem), name);
    },
    bind: (e) => e[name] as WasmMaxPoolInterior,
  };
}
