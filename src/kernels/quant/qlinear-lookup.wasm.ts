import type { WasmContext, WasmModuleSpec } from '../../wasm/context.js';
import { FunctionBuilder, I32, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

/**
 * `q8_lookup__wasm`: y[i] = table[x[i]] for n bytes (x uint8 or int8 read as its byte, table 256 bytes, y the
 * table's type). Four bytes per step, then the rest one at a time.
 */
export type LookupKernel = (x: number, y: number, n: number, table: number) => void;

export const LOOKUP_NAME = 'q8_lookup__wasm';

function emitLookup(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32]);
  const [x, y, n, table] = [0, 1, 2, 3] as const;
  const i = f.local(I32), end4 = f.local(I32);
  const byte = (k: number) => {
    f.get(y).get(i).op('i32.add');
    f.get(table).get(x).get(i).op('i32.add').i32Load8(false, k).op('i32.add').i32Load8(false);
    f.i32Store8(k);
  };
  f.get(n).i32(-4).op('i32.and').set(end4);
  forLoop(f, i, konst(0), local(end4), konst(4), () => {
    for (let k = 0; k < 4; k++) byte(k);
  });
  forLoop(f, i, local(end4), local(n), konst(1), () => byte(0));
  return f;
}

export const LOOKUP_KERNELS: WasmModuleSpec<LookupKernel> = {
  key: 'q8-lookup',
  build(m: ModuleBuilder) {
    m.addFunction(emitLookup(), LOOKUP_NAME);
  },
  bind(e) {
    return e[LOOKUP_NAME] as LookupKernel;
  },
};

/** The lookup kernel of this context, or undefined (no wasm backend, or the engine refused the module). */
export function lookupKernel(wasm: WasmContext | undefined): LookupKernel | undefined {
  return wasm?.use(LOOKUP_KERNELS);
}
