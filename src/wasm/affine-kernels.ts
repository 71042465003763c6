import type { WasmModuleSpec } from './context.js';
import { F32, FunctionBuilder, I32, V128 } from './emitter.js';
import { forLoop, konst, local } from './loops.js';

/**
 * f32_channel_affine(x, y, outer, inner, channels, a, b, lo, hi): for each of `outer` rows of `inner` floats,
 * c = row mod channels, y = clamp(x·a[c] + b[c], lo, hi) with clamp(v) = v < lo ? lo : v > hi ? hi : v (NaN
 * passes; pmax/pmin give exactly that): inference BatchNormalization with its Relu/Clip fused, one pass.
 * x, y, a, b are byte offsets; y may be x. Vector steps of four, then a scalar tail per row.
 */
function emitChannelAffine(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, F32, F32]);
  const [x, y, outer, inner, channels, a, b, lo, hi] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const o = f.local(I32), c = f.local(I32), i = f.local(I32), n4 = f.local(I32), px = f.local(I32), py = f.local(I32);
  const va = f.local(V128), vb = f.local(V128), vlo = f.local(V128), vhi = f.local(V128);
  const sa = f.local(F32), sb = f.local(F32), v = f.local(F32);
  f.get(inner).i32(-4).op('i32.and').set(n4);
  f.get(lo).simd('f32x4.splat').set(vlo);
  f.get(hi).simd('f32x4.splat').set(vhi);
  f.get(x).set(px);
  f.get(y).set(py);
  f.i32(0).set(c);
  forLoop(f, o, konst(0), local(outer), konst(1), () => {
    f.get(a).get(c).i32(2).op('i32.shl').op('i32.add').f32Load().set(sa);
    f.get(b).get(c).i32(2).op('i32.shl').op('i32.add').f32Load().set(sb);
    f.get(sa).simd('f32x4.splat').set(va);
    f.get(sb).simd('f32x4.splat').set(vb);
    forLoop(f, i, konst(0), local(n4), konst(4), () => {
      f.get(py);
      f.get(px).v128Load(0, 2).get(va).simd('f32x4.mul').get(vb).simd('f32x4.add');
      f.get(vlo).simd('f32x4.pmax').get(vhi).simd('f32x4.pmin');
      f.v128Store(0, 2);
      f.get(px).i32(16).op('i32.add').set(px);
      f.get(py).i32(16).op('i32.add').set(py);
    });
    forLoop(f, i, local(n4), local(inner), konst(1), () => {
      f.get(px).f32Load().get(sa).op('f32.mul').get(sb).op('f32.add').set(v);
      // v = v < lo ? lo : v; v = hi < v ? hi : v
      f.get(lo).get(v).get(v).get(lo).op('f32.lt').select().set(v);
      f.get(hi).get(v).get(hi).get(v).op('f32.lt').select().set(v);
      f.get(py).get(v).f32Store();
      f.get(px).i32(4).op('i32.add').set(px);
      f.get(py).i32(4).op('i32.add').set(py);
    });
    // c = (c + 1) mod channels
    f.get(c).i32(1).op('i32.add').set(c);
    f.get(c).get(channels).op('i32.ge_s').if().i32(0).set(c).end();
  });
  return f;
}

export type WasmChannelAffine = (
  x: number, y: number, outer: number, inner: number, channels: number, a: number, b: number, lo: number, hi: number,
) => void;

const CHANNEL_AFFINE = 'f32_channel_affine__wasmsimd';

export const CHANNEL_AFFINE_MODULE: WasmModuleSpec<WasmChannelAffine> = {
  key: 'channel-affine',
  build(m) {
    m.addFunction(emitChannelAffine(), CHANNEL_AFFINE);
  },
  bind: (e) => e[CHANNEL_AFFINE] as WasmChannelAffine,
};
