/**
 * Dropout at inference is the identity (ONNX Dropout: "if training_mode is false ... output = data"),
 * with an all-true mask. Training mode is random and not an inference concern: refused when known.
 */
import { UnsupportedError, nodeLabel } from '../../errors.js';
import type { TensorType } from '../../dtype.js';
import { requireInput, type KernelDef } from '../kernel.js';
import { FLOATS, checkDtype } from './dtypes.js';

export const dropoutKernel: KernelDef = {
  opType: 'Dropout',
  prepare(ctx) {
    // data: any shape -> output: same, mask: same shape (bool from opset 10, data's dtype before)
    const x = requireInput(ctx, 0);
    checkDtype(ctx, x.dtype, FLOATS);
    const training = ctx.opset >= 12 ? ctx.constants[2] : undefined;
    if (training && training.data[0]) {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: training_mode=true is not supported (inference only)`);
    }
    const maskType: TensorType = { dtype: ctx.opset >= 10 ? 'bool' : x.dtype, shape: [...x.shape] };
    const wantsMask = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
    return {
      outputs: wantsMask ? [{ dtype: x.dtype, shape: [...x.shape] }, maskType] : [{ dtype: x.dtype, shape: [...x.shape] }],
      inPlace: 0,
      run(inputs, outputs) {
        const xs = inputs[0] as Float32Array;
        const ys = outputs[0] as Float32Array;
        if (ys !== xs) ys.set(xs);
        if (wantsMask) (outputs[1] as Float32Array).fill(1);
      },
    };
  },
};
