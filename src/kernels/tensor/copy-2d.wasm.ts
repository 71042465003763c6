/**
 * A strided 2-D copy on WebAssembly for any 4-byte element (bits are copied):
 *
 *   x32_copy_2d(src, srcStride, dst, dstStride, rows, cols)
 *     dst[i·dstStride + j] = src[i·srcStride + j]   (element strides; src, dst byte offsets)
 *
 * What Concat (and other block copies) do with many short rows: NHWC exporters concatenate along the last axis,
 * rows of a few dozen floats, where a TypedArray.set per row costs more than the copy. Four elements per v128 move,
 * then the row's last cols mod 4 one at a time.
 */
import type { WasmContext, WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export type WasmCopy2dKernel = (src: number, srcStride: number, dst: number, dstStride: number, rows: number, cols: number) => void;

export const COPY_2D_NAME = 'x32_copy_2d__wasmsimd';

function emitCopy2d(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32]);
  const [src, srcStride, dst, dstStride, rows, cols] = [0, 1, 2, 3, 4, 5];
  const row = f.local(I32), j = f.local(I32), end4 = f.local(I32), s = f.local(I32), d = f.local(I32), bytes = f.local(I32);
  f.get(srcStride).i32(2).op('i32.shl').set(srcStride);
  f.get(dstStride).i32(2).op('i32.shl').set(dstStride);
  f.get(cols).i32(2).op('i32.shl').set(bytes);
  f.get(bytes).i32(-16).op('i32.and').set(end4);
  forLoop(f, row, konst(0), local(rows), konst(1), () => {
    f.get(src).get(row).get(srcStride).op('i32.mul').op('i32.add').set(s);
    f.get(dst).get(row).get(dstStride).op('i32.mul').op('i32.add').set(d);
    forLoop(f, j, konst(0), local(end4), konst(16), () => {
      f.get(d).get(j).op('i32.add').get(s).get(j).op('i32.add').v128Load(0, 2).v128Store(0, 2);
    });
    forLoop(f, j, local(end4), local(bytes), konst(4), () => {
      f.get(d).get(j).op('i32.add').get(s).get(j).op('i32.add').i32Load().i32Store();
    });
  });
  return f;
}

/** The family module (one function), compiled on first use. */
export const COPY_2D_MODULE: WasmModuleSpec<WasmCopy2dKernel> = {
  key: 'copy-2d',
  build(m: ModuleBuilder) {
    m.addFunction(emitCopy2d(), COPY_2D_NAME);
  },
  bind: (e) => e[COPY_2D_NAME] as WasmCopy2dKernel,
};

/** The kernel of this context, or undefined (no wasm backend, or the engine refused the module). */
export function copy2dKernel(wasm: WasmContext | undefined): WasmCopy2dKernel | undefined {
  return wasm?.use(COPY_2D_MODULE);
}
