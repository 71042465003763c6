import { UnsupportedError } from '../../errors.js';

/** Element-wise activations a GEMM can fuse into its store (XNNPACK's "minmax" epilogue, widened). */
export type ActivationKind = 'none' | 'relu' | 'clip' | 'leakyrelu' | 'hardswish' | 'silu' | 'sigmoid' | 'tanh';

/**
 * An activation and its parameters: clip uses min/max (Relu6 is clip 0..6), leakyrelu uses alpha
 * (ONNX default 0.01), hardswish is ONNX HardSwish x·max(0, min(1, alpha·x + beta)) with alpha = 1/6, beta = 0.5.
 */
export interface Activation {
  kind: ActivationKind;
  alpha?: number;
  beta?: number;
  min?: number;
  max?: number;
}

export const NO_ACTIVATION: Activation = Object.freeze({ kind: 'none' });

/** buf[off, off + n) = act(buf[off, off + n)), in place. */
export function applyActivation(act: Activation, buf: Float32Array, off: number, n: number): void {
  const end = off + n;
  switch (act.kind) {
    case 'none':
      return;
    case 'relu':
      for (let i = off; i < end; i++) if (buf[i] < 0) buf[i] = 0;
      return;
    case 'clip': {
      const lo = act.min ?? -Infinity;
      const hi = act.max ?? Infinity;
      for (let i = off; i < end; i++) {
        const x = buf[i];
        buf[i] = x < lo ? lo : x > hi ? hi : x;
      }
      return;
    }
    case 'leakyrelu': {
      const alpha = act.alpha ?? 0.01;
      for (let i = off; i < end; i++) if (buf[i] < 0) buf[i] *= alpha;
      return;
    }
    case 'hardswish': {
      const alpha = act.alpha ?? 1 / 6;
      const beta = act.beta ?? 0.5;
      for (let i = off; i < end; i++) {
        const x = buf[i];
        const g = alpha * x + beta;
        buf[i] = x * (g < 0 ? 0 : g > 1 ? 1 : g);
      }
      return;
    }
    case 'silu':
      for (let i = off; i < end; i++) buf[i] = buf[i] / (1 + Math.exp(-buf[i]));
      return;
    case 'sigmoid':
      for (let i = off; i < end; i++) buf[i] = 1 / (1 + Math.exp(-buf[i]));
      return;
    case 'tanh':
      for (let i = off; i < end; i++) buf[i] = Math.tanh(buf[i]);
      return;
    default:
      throw new UnsupportedError(`GEMM epilogue: unknown activation '${(act as { kind: string }).kind}'`);
  }
}
