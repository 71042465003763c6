import type { KernelDef, PrepareContext, PreparedKernel } from '../kernel.js';
import { attrInt } from '../../graph/attributes.js';
import { kernelError } from '../kernel.js';
import { dtypeAttr, intInput, tensorOf } from './common.js';

/**
 * Generalized cosine windows (ONNX 17 HannWindow, HammingWindow, BlackmanWindow):
 *   w[n] = a0 - a1·cos(2πn/N) + a2·cos(4πn/N),  n = 0..size-1,
 * with N = size when periodic (the default, for spectral analysis) and N = size-1 when symmetric.
 */
interface CosineWindow {
  opType: string;
  a0: number;
  a1: number;
  a2: number;
}

const WINDOWS: readonly CosineWindow[] = [
  { opType: 'HannWindow', a0: 0.5, a1: 0.5, a2: 0 },
  // ONNX's Hamming uses alpha = 25/46, beta = 1 - alpha (the "optimal" equiripple Hamming).
  { opType: 'HammingWindow', a0: 25 / 46, a1: 21 / 46, a2: 0 },
  { opType: 'BlackmanWindow', a0: 0.42, a1: 0.5, a2: 0.08 },
];

export function cosineWindow(size: number, periodic: boolean, w: Omit<CosineWindow, 'opType'>): Float64Array {
  const out = new Float64Array(size);
  const N = periodic ? size : size - 1;
  // A one-point symmetric window has N = 0: its single sample is the peak, 1.
  if (N === 0) return out.fill(1);
  for (let n = 0; n < size; n++) {
    const t = (2 * Math.PI * n) / N;
    out[n] = w.a0 - w.a1 * Math.cos(t) + w.a2 * Math.cos(2 * t);
  }
  return out;
}

function prepareWindow(ctx: PrepareContext, w: CosineWindow): PreparedKernel {
  // size () int -> output (size) of output_datatype (default float)
  const periodic = attrInt(ctx.node, 'periodic', 1);
  if (periodic !== 0 && periodic !== 1) throw kernelError(ctx, `periodic must be 0 or 1, got ${periodic}`);
  const dtype = dtypeAttr(ctx, 'output_datatype', 1);
  const size = intInput(ctx, 0, 'size', 0);
  const value = tensorOf(dtype, [size], cosineWindow(size, periodic === 1, w));
  return { outputs: [{ dtype, shape: [size] }], constantOutputs: [value], run() {} };
}

export const windowKernels: KernelDef[] = WINDOWS.map((w) => ({
  opType: w.opType,
  prepare: (ctx: PrepareContext) => prepareWindow(ctx, w),
}));
