import type { Node } from '../../loader/model.js';
import { attrFloats, attrString } from '../../graph/attributes.js';
import { FUSED_ACTIVATION_ATTR, FUSED_ACTIVATION_PARAMS_ATTR } from '../../graph/passes/fuse-activation.js';
import { UnsupportedError, nodeLabel } from '../../errors.js';
import { applyActivation, NO_ACTIVATION, type Activation } from '../gemm/activation.js';
import type { FloatArray } from './reference.js';

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

/** buf[off, off + n) = act(buf[off, off + n)) for float32 or float64 storage. */
export function activateInPlace(act: Activation, buf: FloatArray, off: number, n: number): void {
  if (act.kind === 'none') return;
  // applyActivation only indexes the array, so a Float64Array runs through the same loops.
  applyActivation(act, buf as Float32Array, off, n);
}
