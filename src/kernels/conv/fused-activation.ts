import type { Node } from '../../loader/model.js';
import { attrFloats, attrString } from '../../graph/attributes.js';
import { FUSED_ACTIVATION_ATTR, FUSED_ACTIVATION_PARAMS_ATTR } from '../../graph/passes/fuse-activation.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { applyActivation, NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import type { FloatArray } from './reference.js';
import type { WasmContext } from '../../wasm/context.js';
import { wasmClamp, wasmLeakyRelu } from '../../wasm/elementwise.js';
import { MATH_KERNELS, wasmUnaryMath } from '../../wasm/math-kernels.js';
import { HARD_ACTIVATIONS_MODULE } from '../elementwise/activations.wasm.js';

/**
 * The fused activation of a node (NO_ACTIVATION when none): 'clip' params are [min, max], 'leakyrelu' [alpha],
 * 'hardswish' [alpha, beta] of x·max(0, min(1, alpha·x + beta)) (ONNX HardSwish: 1/6, 0.5).
 */
export function readFusedActivation(node: Node): Activation {
  const kind = attrString(node, FUSED_ACTIVATION_ATTR);
  if (kind === undefined) return NO_ACTIVATION;
  const p = attrFloats(node, FUSED_ACTIVATION_PARAMS_ATTR, []);
  switch (kind) {
    case 'relu':
    case 'sigmoid':
    case 'silu':
      return { kind };
    case 'clip':
      return { kind, min: p[0] ?? -Infinity, max: p[1] ?? Infinity };
    case 'leakyrelu':
      return { kind, alpha: p[0] ?? 0.01 };
    case 'hardswish':
      return { kind, alpha: p[0] ?? 1 / 6, beta: p[1] ?? 0.5 };
    default:
      throw new UnsupportedError(`${nodeLabel(node)}: unknown fused activation '${kind}'`);
  }
}

/**
 * buf[off, off + n) = act(buf[off, off + n)) for float32 or float64 storage. With `wasm` and a float32 view of
 * its memory, the activation runs on WebAssembly SIMD (sigmoid/silu/tanh through the f32x4 exp of the math
 * family, within 2e-7 of Math.exp-based results), else in JS.
 */
export function activateInPlace(act: Activation, buf: FloatArray, off: number, n: number, wasm?: WasmContext): void {
  if (act.kind === 'none') return;
  if (wasm !== undefined && buf instanceof Float32Array && buf.buffer === wasm.memory.buffer && activateOnWasm(act, wholeOrPart(buf, off, n), wasm)) return;
  // applyActivation only indexes the array, so a Float64Array runs through the same loops.
  applyActivation(act, buf as Float32Array, off, n);
}

/**
 * Compiles at prepare the wasm family activateInPlace will use for `act` (the f32x4 exp of sigmoid/silu/tanh),
 * so the first run does not pay for it.
 */
export function prepareActivationOnWasm(act: Activation, wasm: WasmContext | undefined): void {
  if (wasm !== undefined && (act.kind === 'sigmoid' || act.kind === 'silu' || act.kind === 'tanh')) wasm.use(MATH_KERNELS);
}

/** buf[off, off + n) as a view: buf itself when that is all of it (the usual whole-output case: no allocation). */
function wholeOrPart(buf: Float32Array, off: number, n: number): Float32Array {
  return off === 0 && n === buf.length ? buf : buf.subarray(off, off + n);
}

/** act over all of `v` (a float32 view of wasm memory) on wasm SIMD; false when the kind has no wasm kernel. */
function activateOnWasm(act: Activation, v: Float32Array, wasm: WasmContext): boolean {
  switch (act.kind) {
    case 'relu':
      return wasmClamp(wasm, v, v, 0, Infinity);
    case 'clip':
      return wasmClamp(wasm, v, v, act.min ?? -Infinity, act.max ?? Infinity);
    case 'leakyrelu':
      return wasmLeakyRelu(wasm, v, v, act.alpha ?? 0.01);
    case 'sigmoid':
    case 'silu':
    case 'tanh': {
      const math = wasm.use(MATH_KERNELS);
      return math !== undefined && wasmUnaryMath(wasm, math, act.kind, v, v);
    }
    case 'hardswish': {
      const hard = wasm.use(HARD_ACTIVATIONS_MODULE);
      if (hard === undefined) return false;
      hard.hardSwish(v.byteOffset, v.byteOffset, v.length, act.alpha ?? 1 / 6, act.beta ?? 0.5);
      return true;
    }
    default:
      return false;
  }
}
