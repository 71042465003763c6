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
    // Training with ratio > 0 drops at random: refuse it (at prepare when known, else at run).
    const refuseTraining = (): never => {
      throw new UnsupportedError(`${nodeLabel(ctx.node)}: training_mode=true with ratio > 0 is not supported (inference only)`);
    };
    const checksTraining = ctx.opset >= 12 && ctx.inputs[2] !== undefined;
    const training = ctx.constants[2];
    const ratio = ctx.inputs[1] === undefined ? 0.5 : ctx.constants[1] ? Number(ctx.constants[1].data[0]) : undefined;
    if (checksTraining && training && training.data[0] && ratio !== undefined && ratio > 0) refuseTraining();
    const maskType: TensorType = { dtype: ctx.opset >= 10 ? 'bool' : x.dtype, shape: [...x.shape] };
    const wantsMask = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
    return {
      outputs: wantsMask ? [{ dtype: x.dtype, shape: [...x.shape] }, maskType] : [{ dtype: x.dtype, shape: [...x.shape] }],
      inPlace: 0,
      run(inputs, outputs) {
        if (checksTraining && inputs[2]![0] && (inputs[1] === undefined ? 0.5 : Number(inputs[1][0])) > 0) refuseTraining();
        const xs = inputs[0] as Float32Array;
        const ys = outputs[0] as Float32Array;
        if (ys !== xs) ys.set(xs);
        if (wantsMask) (outputs[1] as Float32Array).fill(1);
      },
    };
  },
};
