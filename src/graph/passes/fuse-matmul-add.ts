import type { Attribute, Graph, Node } from '../../loader/model.js';
import { FLOAT_DTYPES, GraphIndex, isOp, otherOperand, rewrite } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Fuses a Linear layer as transformers export it, Add(MatMul(A, W), bias) with W a constant [K, N] and
 * bias a constant [N] of the same float dtype, so the bias is written in the GEMM's store:
 *   A declared 2-D  -> Gemm(A, W, bias)                  (ONNX Gemm, alpha = beta = 1)
 *   otherwise       -> tinfer.MatMulAdd(A, W, bias)      (A [..., K]: leading dims fold into the rows)
 * Both equal MatMul then Add (numpy broadcasting of a [N] bias over [..., N]). The MatMul output must be
 * read only by the Add.
 */
export function fuseMatMulAdd(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, fuseMatMulAdd);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('MatMul')) return withBodies;
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>();
  for (const matmul of withBodies.nodes) {
    if (!isOp(matmul, 'MatMul', 2)) continue;
    const [a, w] = matmul.inputs as [string, string];
    const product = matmul.outputs[0]!;
    const add = g.soleReader(product, 'Add');
    if (!isOp(add, 'Add', 2) || add.attributes.size !== 0) continue;
    const bias = otherOperand(add, product)!;
    if (bias === product) continue;
    const wt = g.constant(w);
    const bt = g.constant(bias);
    if (wt === undefined || bt === undefined || !FLOAT_DTYPES.has(wt.dtype) || bt.dtype !== wt.dtype) continue;
    if (wt.shape.length !== 2 || bt.shape.length !== 1 || bt.shape[0] !== wt.shape[1]) continue;
    removed.add(matmul).add(add);
    const name = `${add.name || add.outputs[0]}_fused`;
    const output = add.outputs[0]!;
    replacements.set(
      add,
      g.rankOf(a) === 2
        ? { name, opType: 'Gemm', domain: '', inputs: [a, w, bias], outputs: [output], attributes: new Map<string, Attribute>() }
        : { name, opType: 'MatMulAdd', domain: 'tinfer', inputs: [a, w, bias], outputs: [output], attributes: new Map<string, Attribute>() },
    );
  }
  if (removed.size === 0) return withBodies;
  return rewrite(withBodies, removed, replacements);
}
