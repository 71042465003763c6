import type { NumericArray, TensorType } from '../../dtype.js';
import { attrInt, attrString } from '../../graph/attributes.js';
import { kernelError, requireInput, type KernelDef, type PrepareContext, type PreparedKernel } from '../kernel.js';
import { product, requireFloat } from '../reduce/common.js';
import { softmaxStrided } from '../reduce/softmax.js';

/** What both loss ops share: shapes (N, C, D = Π d_i), reduction, ignore_index and the optional class weights. */
interface LossPlan {
  N: number;
  C: number;
  D: number;
  reduction: 'none' | 'sum' | 'mean';
  ignoreIndex: number | undefined;
  outShape: number[];
}

function planLoss(ctx: PrepareContext, x: TensorType, target: TensorType, weight: TensorType | undefined): LossPlan {
  requireFloat(ctx, x.dtype);
  if (x.shape.length < 2) throw kernelError(ctx, `input must be (N, C, d1..dk), got shape [${x.shape}]`);
  if (target.dtype !== 'int32' && target.dtype !== 'int64') throw kernelError(ctx, `target must be int32 or int64, got ${target.dtype}`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const expected = [N, ...x.shape.slice(2)];
  if (target.shape.join(',') !== expected.join(',')) throw kernelError(ctx, `target shape [${target.shape}] should be [${expected}]`);
  if (weight && (weight.shape.length !== 1 || weight.shape[0] !== C)) throw kernelError(ctx, `weight shape [${weight.shape}] should be [${C}]`);
  const reduction = attrString(ctx.node, 'reduction', 'mean');
  if (reduction !== 'none' && reduction !== 'sum' && reduction !== 'mean') throw kernelError(ctx, `unknown reduction '${reduction}'`);
  return { N, C, D: product(x.shape, 2), reduction, ignoreIndex: attrInt(ctx.node, 'ignore_index'), outShape: reduction === 'none' ? expected : [] };
}

/**
 * loss[n, d] = -logp[n, t, d] · w[t] with t = target[n, d] (0 where t is ignore_index);
 * 'sum' adds them, 'mean' divides the sum by Σ w[t] over the samples not ignored (ONNX NegativeLogLikelihoodLoss).
 */
function nllLoss(
  ctx: PrepareContext,
  p: LossPlan,
  logp: NumericArray,
  target: ArrayLike<number | bigint>,
  weight: NumericArray | undefined,
  y: NumericArray,
): void {
  const { N, C, D } = p;
  let sum = 0;
  let wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      const t = Number(target[i]);
      let loss = 0;
      if (t !== p.ignoreIndex) {
        if (!(t >= 0 && t < C)) throw kernelError(ctx, `target value ${t} is outside [0, ${C})`);
        const w = weight ? weight[t]! : 1;
        loss = -logp[(n * C + t) * D + d]! * w;
        wsum += w;
      }
      if (p.reduction === 'none') y[i] = loss;
      else sum += loss;
    }
  }
  if (p.reduction === 'sum') y[0] = sum;
  else if (p.reduction === 'mean') y[0] = sum / wsum;
}

/** NegativeLogLikelihoodLoss (ONNX 12, 13): input (N, C, d...) log-probabilities, target (N, d...), weight (C) -> loss. */
export const nllLossKernel: KernelDef = {
  opType: 'NegativeLogLikelihoodLoss',
  prepare(ctx) {
    // input (N, C, d1..dk), target (N, d1..dk), weight? (C) -> loss (N, d1..dk) or []
    const x = requireInput(ctx, 0);
    const p = planLoss(ctx, x, requireInput(ctx, 1), ctx.inputs[2]);
    return {
      outputs: [{ dtype: x.dtype, shape: p.outShape }],
      run(inputs, outputs) {
        nllLoss(ctx, p, inputs[0] as NumericArray, inputs[1] as ArrayLike<number | bigint>, inputs[2] as NumericArray | undefined, outputs[0] as NumericArray);
      },
    };
  },
};

/**
 * SoftmaxCrossEntropyLoss (ONNX 12, 13): log_prob = LogSoftmax(scores, axis 1), then the
 * NegativeLogLikelihoodLoss of log_prob; log_prob is the optional second output (else scratch).
 */
export const softmaxCrossEntropyKernel: KernelDef = {
  opType: 'SoftmaxCrossEntropyLoss',
  prepare(ctx) {
    // scores (N, C, d1..dk), labels (N, d1..dk), weights? (C) -> loss (N, d1..dk) or [], log_prob? (N, C, d1..dk)
    const x = requireInput(ctx, 0);
    const p = planLoss(ctx, x, requireInput(ctx, 1), ctx.inputs[2]);
    const wantLogProb = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
    const outputs = [{ dtype: x.dtype, shape: p.outShape }];
    if (wantLogProb) outputs.push({ dtype: x.dtype, shape: [...x.shape] });
    const prepared: PreparedKernel = {
      outputs,
      scratch: wantLogProb ? [] : [{ dtype: x.dtype, length: p.N * p.C * p.D }],
      run(inputs, outs, scratch) {
        const scores = inputs[0] as NumericArray;
        const logp = (wantLogProb ? outs[1] : scratch[0]) as NumericArray;
        for (let n = 0; n < p.N; n++) {
          for (let d = 0; d < p.D; d++) softmaxStrided('logsoftmax', scores, logp, n * p.C * p.D + d, p.C, p.D);
        }
        nllLoss(ctx, p, logp, inputs[1] as ArrayLike<number | bigint>, inputs[2] as NumericArray | undefined, outs[0] as NumericArray);
      },
    };
    return prepared;
  },
};
