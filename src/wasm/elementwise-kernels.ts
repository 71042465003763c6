import { F32, FunctionBuilder, I32, V128, type ModuleBuilder, type NumericOp, type SimdOp } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/**
 * Elementwise f32x4 kernels: binary ops on equal shapes and with a per-channel operand, and the clamp and
 * LeakyRelu activations. Pointers are byte offsets; out may alias an input (the kernels read before they write).
 * A vector loop over whole groups of four, then a scalar tail.
 */

export const BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

const VECTOR: Record<BinaryOp, SimdOp> = { add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div' };
const SCALAR: Record<BinaryOp, NumericOp> = { add: 'f32.add', sub: 'f32.sub', mul: 'f32.mul', div: 'f32.div' };

export function binaryName(op: BinaryOp): string {
  return `f32_v${op}__wasmsimd`;
}
/** Per-channel variant; `reversed` puts the channel value on the left (c − x, c / x). */
export function channelName(op: BinaryOp, reversed: boolean): string {
  return `f32_v${reversed ? 'r' : ''}${op}c__wasmsimd`;
}
export const CLAMP_NAME = 'f32_vclamp__wasmsimd';
export const LEAKYRELU_NAME = 'f32_vleakyrelu__wasmsimd';

/**
 * Emits: for each of n floats at (x, y?) write out; `vector(f)` / `scalar(f)` consume the loaded value(s)
 * (x then y) on the stack and leave the result. Locals: i counts floats.
 */
function emitMap(
  f: FunctionBuilder, n: number, x: number, y: number | undefined, out: number,
  vector: (f: FunctionBuilder) => void, scalar: (f: FunctionBuilder) => void,
): void {
  const i = f.local(I32), vn = f.local(I32);
  f.get(n).i32(-4).op('i32.and').set(vn);
  forLoop(f, i, konst(0), local(vn), konst(4), () => {
    addr(f, out, i);
    addr(f, x, i);
    f.v128Load(0, 2);
    if (y !== undefined) { addr(f, y, i); f.v128Load(0, 2); }
    vector(f);
    f.v128Store(0, 2);
  });
  forLoop(f, i, local(vn), local(n), konst(1), () => {
    addr(f, out, i);
    addr(f, x, i);
    f.f32Load();
    if (y !== undefined) { addr(f, y, i); f.f32Load(); }
    scalar(f);
    f.f32Store();
  });
}

/** base + 4·i */
function addr(f: FunctionBuilder, base: number, i: number): void {
  f.get(base).get(i).i32(2).op('i32.shl').op('i32.add');
}

/** f32_v{op}(a, b, out, n): out[i] = a[i] op b[i] for i < n. */
export function emitBinary(op: BinaryOp): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32]);
  emitMap(f, 3, 0, 1, 2, (g) => void g.simd(VECTOR[op]), (g) => void g.op(SCALAR[op]));
  return f;
}

/**
 * f32_v{r}{op}c(a, b, out, outer, inner, channels): out[o·inner + i] = a[o·inner + i] op b[o mod channels]
 * (reversed: b[o mod channels] op a[...]). NCHW per-channel broadcast is outer = N·C, inner = H·W.
 */
export function emitChannel(op: BinaryOp, reversed: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [a, b, out, outer, inner, channels] = [0, 1, 2, 3, 4, 5];
  const o = f.local(I32), c = f.local(I32), bs = f.local(V128), s = f.local(F32);
  const pa = f.local(I32), po = f.local(I32), tv = f.local(V128), ts = f.local(F32);
  f.i32(0).set(c).get(a).set(pa).get(out).set(po);
  forLoop(f, o, konst(0), local(outer), konst(1), () => {
    f.get(b).get(c).i32(2).op('i32.shl').op('i32.add').f32Load().tee(s).simd('f32x4.splat').set(bs);
    emitMap(
      f, inner, pa, undefined, po,
      (g) => {
        if (reversed) {
          g.set(tv).get(bs).get(tv).simd(VECTOR[op]);
        } else {
          g.get(bs).simd(VECTOR[op]);
        }
      },
      (g) => {
        if (reversed) {
          g.set(ts).get(s).get(ts).op(SCALAR[op]);
        } else {
          g.get(s).op(SCALAR[op]);
        }
      },
    );
    f.get(pa).get(inner).i32(2).op('i32.shl').op('i32.add').set(pa);
    f.get(po).get(inner).i32(2).op('i32.shl').op('i32.add').set(po);
    // c = (c + 1) mod channels, without a division
    f.get(c).i32(1).op('i32.add').tee(c).get(channels).op('i32.ge_s').if().i32(0).set(c).end();
  });
  return f;
}

/**
 * f32_vclamp(x, out, n, lo, hi): out[i] = min(max(x, lo), hi) with NaN passing through, as the JS Clip:
 * x < lo ? lo : (hi < x ? hi : x) (f32x4.pmax, pmin). Relu is lo = 0, hi = +∞.
 */
export function emitClamp(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, F32, F32]);
  const [x, out, n, lo, hi] = [0, 1, 2, 3, 4];
  const vlo = f.local(V128), vhi = f.local(V128), t = f.local(F32);
  f.get(lo).simd('f32x4.splat').set(vlo).get(hi).simd('f32x4.splat').set(vhi);
  emitMap(
    f, n, x, undefined, out,
    (g) => void g.get(vlo).simd('f32x4.pmax').get(vhi).simd('f32x4.pmin'),
    (g) => {
      // t = x < lo ? lo : x; then hi < t ? hi : t
      g.set(t).get(lo).get(t).get(t).get(lo).op('f32.lt').select().set(t);
      g.get(hi).get(t).get(hi).get(t).op('f32.lt').select();
    },
  );
  return f;
}

/** f32_vleakyrelu(x, out, n, alpha): out[i] = x < 0 ? alpha·x : x (ONNX LeakyRelu). */
export function emitLeakyRelu(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, F32]);
  const [x, out, n, alpha] = [0, 1, 2, 3];
  const va = f.local(V128), v = f.local(V128), t = f.local(F32);
  f.get(alpha).simd('f32x4.splat').set(va);
  emitMap(
    f, n, x, undefined, out,
    (g) => void g.set(v).get(v).get(va).simd('f32x4.mul').get(v).get(v).f32x4Const(0, 0, 0, 0).simd('f32x4.lt').simd('v128.bitselect'),
    (g) => void g.set(t).get(t).get(alpha).op('f32.mul').get(t).get(t).f32(0).op('f32.lt').select(),
  );
  return f;
}

/** Adds every elementwise kernel to `m` (exported under the names above). */
export function addElementwiseKernels(m: ModuleBuilder): void {
  for (const op of BINARY_OPS) {
    m.addFunction(emitBinary(op), binaryName(op));
    m.addFunction(emitChannel(op, false), channelName(op, false));
    if (op === 'sub' || op === 'div') m.addFunction(emitChannel(op, true), channelName(op, true));
  }
  m.addFunction(emitClamp(), CLAMP_NAME);
  m.addFunction(emitLeakyRelu(), LEAKYRELU_NAME);
}
