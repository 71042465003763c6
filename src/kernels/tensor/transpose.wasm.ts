/**
 * The strided gather of Transpose planes where neither plane axis is contiguous in the input (perm [0,3,2,1] on
 * NCHW: plane H×C read with strides W and H·W), on WebAssembly, for any 4-byte element (bits are copied):
 *
 *   x32_transpose_gather(src, dst, d0, d1, d2, s0, s1, s2)
 *     dst[(i0·d1 + i1)·d2 + i2] = src[i0·s0 + i1·s1 + i2·s2]   (element strides; src, dst byte offsets)
 *
 * One outer dim is walked in wasm so a batch of small planes is one call. The innermost loop is unrolled by four
 * (four strided loads, four consecutive stores). The rows and 4×4 plane kernels are in wasm/math-kernels.ts.
 */
import type { WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export type WasmGatherKernel = (src: number, dst: number, d0: number, d1: number, d2: number, s0: number, s1: number, s2: number) => void;

export const GATHER_NAME = 'x32_transpose_gather__wasmsimd';

function emitGather(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, dst, d0, d1, d2, s0, s1, s2] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i0 = f.local(I32), i1 = f.local(I32), i2 = f.local(I32), n4 = f.local(I32);
  const r0 = f.local(I32), r1 = f.local(I32), p = f.local(I32), o = f.local(I32);
  // Strides to bytes.
  for (const s of [s0, s1, s2]) f.get(s).i32(2).op('i32.shl').set(s);
  f.get(d2).i32(-4).op('i32.and').set(n4);
  f.get(src).set(r0).get(dst).set(o);
  forLoop(f, i0, konst(0), local(d0), konst(1), () => {
    f.get(r0).set(r1);
    forLoop(f, i1, konst(0), local(d1), konst(1), () => {
      f.get(r1).set(p);
      forLoop(f, i2, konst(0), local(n4), konst(4), () => {
        for (let u = 0; u < 4; u++) {
          f.get(o).get(p).i32Load().i32Store(4 * u);
          f.get(p).get(s2).op('i32.add').set(p);
        }
        f.get(o).i32(16).op('i32.add').set(o);
      });
      forLoop(f, i2, local(n4), local(d2), konst(1), () => {
        f.get(o).get(p).i32Load().i32Store();
        f.get(p).get(s2).op('i32.add').set(p);
        f.get(o).i32(4).op('i32.add').set(o);
      });
      f.get(r1).get(s1).op('i32.add').set(r1);
    });
    f.get(r0).get(s0).op('i32.add').set(r0);
  });
  return f;
}

/** The family module (one function), compiled on first use. */
export const TRANSPOSE_GATHER_MODULE: WasmModuleSpec<WasmGatherKernel> = {
  key: 'transpose-gather',
  build(m: ModuleBuilder) {
    m.addFunction(emitGather(), GATHER_NAME);
  },
  bind: (e) => e[GATHER_NAME] as WasmGatherKernel,
};
