import { attrInt, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef } from '../kernel.js';
import { planPermute } from './transpose.js';

/**
 * Both operators are a reshape to 6-D, a transpose, and a reshape back (ONNX spec):
 * DepthToSpace DCR: [N, b, b, C/b², H, W] perm [0,3,4,1,5,2] -> [N, C/b², H·b, W·b]
 * DepthToSpace CRD: [N, C/b², b, b, H, W] perm [0,1,4,2,5,3] -> [N, C/b², H·b, W·b]
 * SpaceToDepth:     [N, C, H/b, b, W/b, b] perm [0,3,5,1,2,4] -> [N, C·b², H/b, W/b]
 */
const DepthToSpace: KernelDef = {
  opType: 'DepthToSpace',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    if (x.shape.length !== 4) throw kernelError(ctx, `input must be 4-D, got [${x.shape}]`);
    const b = attrInt(ctx.node, 'blocksize');
    if (b === undefined || b < 1) throw kernelError(ctx, 'blocksize must be a positive integer');
    const mode = attrString(ctx.node, 'mode', 'DCR');
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (c % (b * b) !== 0) throw kernelError(ctx, `channels ${c} are not divisible by blocksize² ${b * b}`);
    const c2 = c / (b * b);
    let permute;
    if (mode === 'DCR') permute = planPermute([n, b, b, c2, h, w], [0, 3, 4, 1, 5, 2]);
    else if (mode === 'CRD') permute = planPermute([n, c2, b, b, h, w], [0, 1, 4, 2, 5, 3]);
    else throw kernelError(ctx, `unsupported mode '${mode}'`);
    return {
      outputs: [{ dtype: x.dtype, shape: [n, c2, h * b, w * b] }],
      run(inputs, outputs) {
        permute(inputs[0]!, outputs[0]!);
      },
    };
  },
};

const SpaceToDepth: KernelDef = {
  opType: 'SpaceToDepth',
  prepare(ctx) {
    const x = requireInput(ctx, 0);
    if (x.shape.length !== 4) throw kernelError(ctx, `input must be 4-D, got [${x.shape}]`);
    const b = attrInt(ctx.node, 'blocksize');
    if (b === undefined || b < 1) throw kernelError(ctx, 'blocksize must be a positive integer');
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (h % b !== 0 || w % b !== 0) throw kernelError(ctx, `spatial dims ${h}×${w} are not divisible by blocksize ${b}`);
    const permute = planPermute([n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4]);
    return {
      outputs: [{ dtype: x.dtype, shape: [n, c * b * b, h / b, w / b] }],
      run(inputs, outputs) {
        permute(inputs[0]!, outputs[0]!);
      },
    };
  },
};

export const depthSpaceKernels: KernelDef[] = [DepthToSpace, SpaceToDepth];
