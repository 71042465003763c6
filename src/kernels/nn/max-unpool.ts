import { sizeOf, type NumericArray } from '../../dtype.js';
import { kernelError, requireConstant, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { readWindowAttrs } from '../conv/geometry.js';
import { requireFloat } from './float-input.js';

// MaxUnpool: X [N, C, D1..Dn], I int64 [N, C, D1..Dn], output_shape int64 [n + 2]? -> Y [N, C, O1..On]
// Y is zero except Y.flat[I[i]] = X[i]; default O = (D − 1)·s + k − pb − pe, the inverse of MaxPool's size.
// I indexes the default-shaped tensor (what MaxPool saw); with a larger output_shape each index keeps its
// coordinates (as onnx/reference and the node tests do), so it is unravelled and re-ravelled.
function prepareMaxUnpool(ctx: PrepareContext): PreparedKernel {
  const x = requireFloat(ctx, 0);
  const ind = requireInput(ctx, 1);
  if (ind.dtype !== 'int64') throw kernelError(ctx, `I must be int64, got ${ind.dtype}`);
  if (ind.shape.join(',') !== x.shape.join(',')) throw kernelError(ctx, `I [${ind.shape}] must have X's shape [${x.shape}]`);
  const rank = x.shape.length - 2;
  if (rank < 1) throw kernelError(ctx, `X must have rank >= 3, got [${x.shape}]`);
  const a = readWindowAttrs(ctx, rank);
  const defaultShape = [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map((d, i) => (d - 1) * a.strides[i]! + a.kernel[i]! - a.pads[i]! - a.pads[i + rank]!)];
  let shape = defaultShape;
  if (ctx.inputs[2] !== undefined) {
    const os = requireConstant(ctx, 2);
    shape = Array.from(os.data as BigInt64Array, Number);
    if (shape.length !== rank + 2) throw kernelError(ctx, `output_shape [${shape}] must have ${rank + 2} values`);
  }
  const total = sizeOf(defaultShape);
  const remap = shape.join(',') === defaultShape.join(',') ? undefined : (j: number): number => {
    let out = 0;
    let stride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const coord = j % defaultShape[d]!;
      j = Math.floor(j / defaultShape[d]!);
      if (coord >= shape[d]!) return -1;
      out += coord * stride;
      stride *= shape[d]!;
    }
    return out;
  };
  return {
    outputs: [{ dtype: x.dtype, shape }],
    run(inputs, outs) {
      const xv = inputs[0] as NumericArray;
      const iv = inputs[1] as BigInt64Array;
      const y = outs[0] as NumericArray;
      y.fill(0);
      for (let i = 0; i < xv.length; i++) {
        const j = Number(iv[i]!);
        if (j < 0 || j >= total) continue;
        const k = remap === undefined ? j : remap(j);
        if (k >= 0) y[k] = xv[i]!;
      }
    },
  };
}

export const maxUnpoolKernel: KernelDef = { opType: 'MaxUnpool', prepare: prepareMaxUnpool };
