/**
 * Pad (every mode) for float32 on WebAssembly, on an input of at most four axes after merging unpadded
 * neighbours. Each axis k has an index map fixed at prepare, m_k[o] = byte offset of the input index output
 * position o reads (sourceIndex in pad.ts: constant, edge, reflect or wrap), or -1 for the constant border:
 *
 *   f32_pad_4d(src, dst, maps, d0, d1, d2, d3, lo, hi, fill)
 *     dst[i0, i1, i2, i3] = any m_k[i_k] < 0 ? fill : src[m0[i0] + m1[i1] + m2[i2] + m3[i3]]
 *
 * `maps` holds m0 (d0 entries), m1, m2, m3 as int32 one after another. Along the last axis the outputs [lo, hi)
 * read the input contiguously (m3[j] = m3[lo] + 4(j − lo)) and are copied with v128 moves; the border columns go
 * through m3, and rows in a border of an outer axis are filled with splat stores.
 */
import type { WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, F32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export type WasmPadKernel = (
  src: number, dst: number, maps: number, d0: number, d1: number, d2: number, d3: number, lo: number, hi: number, fill: number,
) => void;

export const PAD_NAME = 'f32_pad_4d__wasmsimd';

function emitPad(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [src, dst, maps, d0, d1, d2, d3, lo, hi, fill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const i0 = f.local(I32), i1 = f.local(I32), i2 = f.local(I32), j = f.local(I32);
  const m1 = f.local(I32), m2 = f.local(I32), m3 = f.local(I32);
  const b0 = f.local(I32), b1 = f.local(I32), base = f.local(I32), o = f.local(I32), e = f.local(I32), n4 = f.local(I32);
  const p = f.local(I32), q = f.local(I32), vfill = f.local(V128);
  f.get(fill).simd('f32x4.splat').set(vfill);
  // Map starts (bytes): m1 = maps + 4·d0, m2 = m1 + 4·d1, m3 = m2 + 4·d2.
  f.get(maps).get(d0).i32(2).op('i32.shl').op('i32.add').set(m1);
  f.get(m1).get(d1).i32(2).op('i32.shl').op('i32.add').set(m2);
  f.get(m2).get(d2).i32(2).op('i32.shl').op('i32.add').set(m3);
  f.get(dst).set(o);

  /** dst[o + 4j] for j in [from, to) through the last axis' map. */
  const mapped = (from: () => void, to: () => void): void => {
    forLoop(f, j, () => from(), () => to(), konst(1), () => {
      f.get(m3).get(j).i32(2).op('i32.shl').op('i32.add').i32Load().set(e);
      f.get(o).get(j).i32(2).op('i32.shl').op('i32.add');
      // No load for a border column (its address may lie outside memory).
      f.get(e).i32(0).op('i32.ge_s').if(F32);
      f.get(src).get(base).op('i32.add').get(e).op('i32.add').f32Load();
      f.else().get(fill).end();
      f.f32Store();
    });
  };

  forLoop(f, i0, konst(0), local(d0), konst(1), () => {
    f.get(maps).get(i0).i32(2).op('i32.shl').op('i32.add').i32Load().set(b0);
    forLoop(f, i1, konst(0), local(d1), konst(1), () => {
      f.get(m1).get(i1).i32(2).op('i32.shl').op('i32.add').i32Load().set(e);
      // b1 = b0 + e, or -1 when either is in a border.
      f.get(b0).get(e).op('i32.add').i32(-1).get(b0).get(e).op('i32.or').i32(0).op('i32.ge_s').select().set(b1);
      forLoop(f, i2, konst(0), local(d2), konst(1), () => {
        f.get(m2).get(i2).i32(2).op('i32.shl').op('i32.add').i32Load().set(e);
        f.get(b1).get(e).op('i32.add').i32(-1).get(b1).get(e).op('i32.or').i32(0).op('i32.ge_s').select().set(base);
        f.get(base).i32(0).op('i32.lt_s').if();
        {
          // A border row: fill all d3.
          f.get(d3).i32(-4).op('i32.and').set(n4);
          forLoop(f, j, konst(0), local(n4), konst(4), () => {
            f.get(o).get(j).i32(2).op('i32.shl').op('i32.add').get(vfill).v128Store(0, 2);
          });
          forLoop(f, j, local(n4), local(d3), konst(1), () => {
            f.get(o).get(j).i32(2).op('i32.shl').op('i32.add').get(fill).f32Store();
          });
        }
        f.else();
        {
          mapped(() => f.i32(0), () => f.get(lo));
          // [lo, hi): contiguous from src + base + m3[lo].
          f.get(hi).get(lo).op('i32.gt_s').if();
          f.get(src).get(base).op('i32.add').get(m3).get(lo).i32(2).op('i32.shl').op('i32.add').i32Load().op('i32.add').set(p);
          f.get(o).get(lo).i32(2).op('i32.shl').op('i32.add').set(q);
          f.get(hi).get(lo).op('i32.sub').i32(-4).op('i32.and').set(n4);
          forLoop(f, j, konst(0), local(n4), konst(4), () => {
            f.get(q).get(j).i32(2).op('i32.shl').op('i32.add');
            f.get(p).get(j).i32(2).op('i32.shl').op('i32.add').v128Load(0, 2);
            f.v128Store(0, 2);
          });
          f.get(hi).get(lo).op('i32.sub').set(e);
          forLoop(f, j, local(n4), local(e), konst(1), () => {
            f.get(q).get(j).i32(2).op('i32.shl').op('i32.add');
            f.get(p).get(j).i32(2).op('i32.shl').op('i32.add').i32Load();
            f.i32Store();
          });
          f.end();
          mapped(() => f.get(hi), () => f.get(d3));
        }
        f.end();
        f.get(o).get(d3).i32(2).op('i32.shl').op('i32.add').set(o);
      });
    });
  });
  return f;
}

/** The family module (one function), compiled on first use. */
export const PAD_MODULE: WasmModuleSpec<WasmPadKernel> = {
  key: 'pad',
  build(m: ModuleBuilder) {
    m.addFunction(emitPad(), PAD_NAME);
  },
  bind: (e) => e[PAD_NAME] as WasmPadKernel,
};
