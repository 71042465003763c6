import type { TensorData } from '../../dtype.js';
import type { Graph, Node } from '../../loader/model.js';
import { attrFloat, attrInt } from '../attributes.js';
import { GraphIndex, rewrite } from './match.js';
import { withOptimisedBodies } from './subgraphs.js';

/**
 * Folds an inference BatchNormalization into the Conv that feeds it (ONNX BatchNormalization:
 * y = (x - mean) / sqrt(var + eps) * scale + B, per channel). With s = scale / sqrt(var + eps):
 *   BN(Conv(X, W, B0)) = Conv(X, W * s[oc], (B0 - mean) * s + B)
 * Applies when W, B0 (if given) and the four BN parameters are float32/float64 initializers, the
 * Conv output feeds only this BN, and the BN is in inference mode with a single output.
 * The folded weights get new initializer names; the old ones are left for dead-code removal.
 */
export function foldBatchNorm(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, foldBatchNorm);
  const g = new GraphIndex(withBodies);
  if (!g.hasOp('BatchNormalization')) return withBodies;
  const initializers = withBodies.initializers;
  const added = new Map<string, TensorData>();
  const removed = new Set<Node>();
  const replacements = new Map<Node, Node>(); // conv -> folded conv (in the Conv's place)
  for (const bn of withBodies.nodes) {
    if (!isInferenceBatchNorm(bn)) continue;
    const conv = g.producer(bn.inputs[0]!);
    if (conv === undefined || removed.has(conv) || !isFoldableConv(conv) || g.useCount(conv.outputs[0]!) !== 1) continue;
    const folded = foldedParameters(conv, bn, initializers);
    if (folded === undefined) continue;
    const wName = g.freshName(`${conv.inputs[1]}_bnfold`);
    const bName = g.freshName(`${conv.inputs[2] || conv.inputs[1]}_bnfold_bias`);
    added.set(wName, folded.weight).set(bName, folded.bias);
    removed.add(conv).add(bn);
    replacements.set(conv, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] });
  }
  return rewrite(withBodies, removed, replacements, added);
}

function isInferenceBatchNorm(node: Node): boolean {
  if (node.opType !== 'BatchNormalization' || node.domain !== '') return false;
  if (node.inputs.length !== 5 || node.inputs.some((n) => n === '')) return false;
  if (!node.outputs[0] || node.outputs.slice(1).some((o) => o !== '')) return false;
  // training_mode (opset 14+) and spatial = 0 (before opset 9) are not plain per-channel inference.
  return attrInt(node, 'training_mode', 0) === 0 && attrInt(node, 'spatial', 1) === 1;
}

function isFoldableConv(node: Node): boolean {
  if (node.opType !== 'Conv' || node.domain !== '') return false;
  if (node.inputs.length < 2 || node.inputs.length > 3 || !node.inputs[0] || !node.inputs[1]) return false;
  return node.outputs.length === 1 && node.outputs[0] !== '';
}

function floatTensor(t: TensorData | undefined, dtype?: string): t is TensorData & { data: Float32Array | Float64Array } {
  if (t === undefined || (dtype !== undefined && t.dtype !== dtype)) return false;
  return (t.dtype === 'float32' && t.data instanceof Float32Array) || (t.dtype === 'float64' && t.data instanceof Float64Array);
}

/** W' = W * s[oc], B' = (B0 - mean) * s + beta, s = scale / sqrt(var + eps); undefined if not foldable. */
function foldedParameters(conv: Node, bn: Node, inits: ReadonlyMap<string, TensorData>): { weight: TensorData; bias: TensorData } | undefined {
  const w = inits.get(conv.inputs[1]!);
  if (!floatTensor(w) || w.shape.length < 3) return undefined;
  const m = w.shape[0]!;
  const [scale, beta, mean, variance] = bn.inputs.slice(1).map((n) => inits.get(n));
  const perChannel = [scale, beta, mean, variance];
  const b0 = conv.inputs[2] ? inits.get(conv.inputs[2]) : undefined;
  if (conv.inputs[2]) perChannel.push(b0);
  if (!perChannel.every((t) => floatTensor(t, w.dtype) && t.data.length === m && t.shape.length === 1)) return undefined;

  const eps = attrFloat(bn, 'epsilon', 1e-5);
  const weight = (w.data as Float32Array | Float64Array).slice();
  const bias = new (w.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(m);
  const perOc = weight.length / m;
  for (let oc = 0; oc < m; oc++) {
    const s = Number(scale!.data[oc]) / Math.sqrt(Number(variance!.data[oc]) + eps);
    for (let k = oc * perOc; k < (oc + 1) * perOc; k++) weight[k] = weight[k]! * s;
    const b = b0 ? Number(b0.data[oc]) : 0;
    bias[oc] = (b - Number(mean!.data[oc])) * s + Number(beta!.data[oc]);
  }
  return { weight: { dtype: w.dtype, shape: [...w.shape], data: weight }, bias: { dtype: w.dtype, shape: [m], data: bias } };
}
