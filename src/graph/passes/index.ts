import type { Graph } from '../../loader/model.js';
import { dropIndexes } from '../index.js';
import { eliminateDeadCode } from './dead-code.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { fuseGelu } from './fuse-gelu.js';
import { fuseLayerNorm } from './fuse-layernorm.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { fuseQdq } from './fuse-qdq.js';
import { fuseIntegerToFloat } from './fuse-integer-to-float.js';
import { fuseActivation } from './fuse-activation.js';
import { fuseHardSwish } from './fuse-hardswish.js';
import { fuseSoftmaxScale } from './fuse-softmax-scale.js';
import { foldConvMulAdd } from './fold-conv-mul-add.js';
import { foldTranspose } from './fold-transpose.js';
import { computeFloat16InFloat32, describeFloat16Report, emptyFloat16Report } from './float16-compute-f32.js';

export {
  eliminateDeadCode, eliminateIdentity, foldBatchNorm, fuseGelu, fuseLayerNorm, fuseMatMulAdd,
  fuseActivation, foldConvMulAdd, foldTranspose, fuseQdq, fuseHardSwish, computeFloat16InFloat32, fuseIntegerToFloat,
};

export interface PassOptions {
  /**
   * 'compute-f32' (default): float16 graphs compute in float32, as onnxruntime's CPU provider does
   * (float16 interface kept); 'exact': every float16 intermediate is rounded to float16.
   */
  float16?: 'compute-f32' | 'exact';
  /** Receives one line per pass that changed something worth reporting (inspect, bench --profile). */
  notes?: string[];
}

/** The passes that change numerics rather than structure (run even with optimize: false): float16 → float32. */
export function runPrecisionPasses(graph: Graph, options: PassOptions = {}): Graph {
  if (options.float16 === 'exact') return graph;
  const report = emptyFloat16Report();
  const out = computeFloat16InFloat32(graph, report);
  if (out !== graph) options.notes?.push(describeFloat16Report(report));
  return out;
}

/**
 * The basic passes in order: compute float16 graphs in float32 (first, so the fusions below see float32
 * patterns), merge Transpose pairs (a cancelling pair becomes an Identity), drop
 * pass-through nodes (so a Conv -> Identity -> BN chain can fold and Linear weights shared through
 * Identity are seen as initializers), run QDQ groups as integer operators (before any float fusion
 * takes their Conv / Gemm / MatMul), fold BatchNorm and per-channel Mul/Add into Conv, fuse the
 * decomposed hard-swish/hard-sigmoid forms exporters write, the transformer patterns (LayerNorm, GELU, then MatMul + bias, whose Add the LayerNorm pattern
 * does not use), fold activations into the Conv / Gemm / MatMul before them, then remove whatever no
 * longer reaches an output (including the unfolded weights and the Constant nodes the fusions turned
 * into attributes). Graph input and output names are kept.
 */
export function runBasicPasses(graph: Graph, options: PassOptions = {}): Graph {
  const precise = runPrecisionPasses(graph, options);
  const folded = foldConvMulAdd(foldBatchNorm(fuseIntegerToFloat(fuseQdq(eliminateIdentity(foldTranspose(precise))))));
  const fused = fuseSoftmaxScale(fuseActivation(fuseMatMulAdd(fuseGelu(fuseLayerNorm(fuseHardSwish(folded))))));
  const result = eliminateDeadCode(fused);
  dropIndexes();
  return result;
}
