/**
 * Piecewise-linear activations on WebAssembly SIMD, for the unary family's wasm variants and fused stores:
 *   f32_hardsigmoid(x, out, n, alpha, beta): out[i] = max(0, min(1, alpha·x[i] + beta))   (ONNX HardSigmoid)
 *   f32_hardswish(x, out, n, alpha, beta):   out[i] = x[i] · max(0, min(1, alpha·x[i] + beta)) (ONNX HardSwish: 1/6, 0.5)
 * In float32 throughout (the JS reference rounds once at the store, so results may differ by an ulp); NaN
 * propagates through f32x4.min/max as in Math.min/max. `out` may be `x`.
 */
import type { WasmModuleSpec } from '../../wasm/context.js';
import { F32, FunctionBuilder, I32, V128, type ModuleBuilder } from '../../wasm/emitter.js';
import { forLoop, konst, local } from '../../wasm/loops.js';

export type WasmHardKernel = (x: number, out: number, n: number, alpha: number, beta: number) => void;

function emitHard(swish: boolean): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, F32, F32]);
  const [x, out, n, alpha, beta] = [0, 1, 2, 3, 4];
  const i = f.local(I32), n4 = f.local(I32), va = f.local(V128), vb = f.local(V128), v = f.local(V128), s = f.local(F32);
  f.get(alpha).simd('f32x4.splat').set(va).get(beta).simd('f32x4.splat').set(vb);
  f.get(n).i32(-4).op('i32.and').set(n4);
  const at = (base: number): void => void f.get(base).get(i).i32(2).op('i32.shl').op('i32.add');
  forLoop(f, i, konst(0), local(n4), konst(4), () => {
    at(out);
    at(x);
    f.v128Load(0, 2).tee(v).get(va).simd('f32x4.mul').get(vb).simd('f32x4.add');
    f.f32x4Const(1, 1, 1, 1).simd('f32x4.min').f32x4Const(0, 0, 0, 0).simd('f32x4.max');
    if (swish) f.get(v).simd('f32x4.mul');
    f.v128Store(0, 2);
  });
  forLoop(f, i, local(n4), local(n), konst(1), () => {
    at(out);
    at(x);
    f.f32Load().tee(s).get(alpha).op('f32.mul').get(beta).op('f32.add');
    f.f32(1).op('f32.min').f32(0).op('f32.max');
    if (swish) f.get(s).op('f32.mul');
    f.f32Store();
  });
  return f;
}

export interface WasmHardKernels {
  readonly hardSigmoid: WasmHardKernel;
  readonly hardSwish: WasmHardKernel;
}

export const HARD_ACTIVATIONS_MODULE: WasmModuleSpec<WasmHardKernels> = {
  key: 'hard-activations',
  build(m: ModuleBuilder) {
    m.addFunction(emitHard(false), 'f32_hardsigmoid__wasmsimd');
    m.addFunction(emitHard(true), 'f32_hardswish__wasmsimd');
  },
  bind: (e) => ({ hardSigmoid: e['f32_hardsigmoid__wasmsimd'] as WasmHardKernel, hardSwish: e['f32_hardswish__wasmsimd'] as WasmHardKernel }),
};
