import type { Graph } from '../../loader/model.js';
import { eliminateDeadCode } from './dead-code.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { fuseGelu } from './fuse-gelu.js';
import { fuseLayerNorm } from './fuse-layernorm.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { fuseActivation } from './fuse-activation.js';

export { eliminateDeadCode, eliminateIdentity, foldBatchNorm, fuseGelu, fuseLayerNorm, fuseMatMulAdd, fuseActivation };

/**
 * The basic passes in order: drop pass-through nodes first (so a Conv -> Identity -> BN chain can
 * fold and Linear weights shared through Identity are seen as initializers), fold BatchNorm into Conv,
 * fuse the transformer patterns (LayerNorm, GELU, then MatMul + bias, whose Add the LayerNorm pattern
 * does not use), fold activations into the Conv / Gemm / MatMul before them, then remove whatever no
 * longer reaches an output (including the unfolded weights and the Constant nodes the fusions turned
 * into attributes). Graph input and output names are kept.
 */
export function runBasicPasses(graph: Graph): Graph {
  const fused = fuseActivation(fuseMatMulAdd(fuseGelu(fuseLayerNorm(foldBatchNorm(eliminateIdentity(graph))))));
  return eliminateDeadCode(fused);
}
