import { describe, expect, it } from 'vitest';
import { GraphError } from '../src/errors.js';
import { expectClose, randomTensor, runKernel, tensor } from './harness.js';

/** Naive NLL on a (N, C, D) array of log-probabilities, written from the ONNX formula. */
function naiveNll(logp: number[], N: number, C: number, D: number, target: number[], weight: number[] | undefined, reduction: string, ignore?: number): number[] {
  const losses: number[] = [];
  let wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const t = target[n * D + d]!;
      if (t === ignore) {
        losses.push(0);
        continue;
      }
      const w = weight ? weight[t]! : 1;
      wsum += w;
      losses.push(-logp[n * C * D + t * D + d]! * w);
    }
  }
  const sum = losses.reduce((a, b) => a + b, 0);
  return reduction === 'none' ? losses : reduction === 'sum' ? [sum] : [sum / wsum];
}

function logSoftmaxAxis1(x: number[], N: number, C: number, D: number): number[] {
  const out = [...x];
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const idx = Array.from({ length: C }, (_, c) => n * C * D + c * D + d);
      const lse = Math.log(idx.reduce((a, i) => a + Math.exp(x[i]!), 0));
      for (const i of idx) out[i] = x[i]! - lse;
    }
  }
  return out;
}

describe('NegativeLogLikelihoodLoss', () => {
  const [N, C, D] = [3, 5, 2];
  const x = randomTensor([N, C, D], 4, -3, 0);
  const target = [0, 4, 1, 1, 3, 2];
  const weight = [0.5, 1, 2, 0.25, 1.5];
  for (const reduction of ['none', 'sum', 'mean']) {
    for (const withWeight of [false, true]) {
      it(`reduction=${reduction} weight=${withWeight} ignore_index=1`, () => {
        const ins = [x, tensor('int64', [N, D], target), ...(withWeight ? [tensor('float32', [C], weight)] : [])];
        const [y] = runKernel('NegativeLogLikelihoodLoss', ins, { reduction, ignore_index: 1 }, { opset: 13 });
        const exp = naiveNll(Array.from(x.data as Float32Array), N, C, D, target, withWeight ? weight : undefined, reduction, 1);
        expectClose(y!, tensor('float32', reduction === 'none' ? [N, D] : [], exp), 1e-5, 1e-6);
      });
    }
  }
  it('rejects a target outside [0, C)', () => {
    expect(() => runKernel('NegativeLogLikelihoodLoss', [x, tensor('int64', [N, D], [0, 0, 9, 0, 0, 0])], {}, { opset: 13 })).toThrow(GraphError);
  });
  it('rejects a target of the wrong shape', () => {
    expect(() => runKernel('NegativeLogLikelihoodLoss', [x, tensor('int64', [N], [0, 0, 0])], {}, { opset: 13 })).toThrow(GraphError);
  });
});

describe('SoftmaxCrossEntropyLoss', () => {
  const [N, C, D] = [2, 4, 3];
  const x = randomTensor([N, C, D], 8, -4, 4);
  const labels = [3, 0, 1, 2, 2, 0];
  it('returns the mean loss and log_prob = LogSoftmax(scores, axis 1)', () => {
    const [loss, logp] = runKernel('SoftmaxCrossEntropyLoss', [x, tensor('int32', [N, D], labels)], {}, { opset: 13, outputs: 2 });
    const expLogp = logSoftmaxAxis1(Array.from(x.data as Float32Array), N, C, D);
    expectClose(logp!, tensor('float32', [N, C, D], expLogp), 1e-5, 1e-6);
    expectClose(loss!, tensor('float32', [], naiveNll(expLogp, N, C, D, labels, undefined, 'mean')), 1e-5, 1e-6);
  });
  it('works with one output (log_prob in scratch) and reduction none', () => {
    const [loss] = runKernel('SoftmaxCrossEntropyLoss', [x, tensor('int64', [N, D], labels)], { reduction: 'none' }, { opset: 13 });
    const expLogp = logSoftmaxAxis1(Array.from(x.data as Float32Array), N, C, D);
    expectClose(loss!, tensor('float32', [N, D], naiveNll(expLogp, N, C, D, labels, undefined, 'none')), 1e-5, 1e-6);
  });
});
