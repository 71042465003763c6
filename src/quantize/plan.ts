/**
 * What to quantize, decided from the graph's structure alone (before calibration):
 *   - weighted ops (Conv, MatMul, Gemm): constant float weights become int8 (per channel on the output-channel
 *     axis), constant biases int32; their float activation inputs and their output get activation parameters;
 *   - other ops with integer counterparts (Add, Mul, Concat, pools, Relu/Clip, Sigmoid, LeakyRelu): their
 *     non-constant float inputs and their output get activation parameters;
 *   - a Relu, or a Clip whose min is 0, that alone reads the output of a weighted op or Add is folded into the
 *     quantisation of that output (uint8 activations only): a uint8 range [0, max] with zero point 0 clamps
 *     exactly as the activation does, so the producer writes the activation's output directly (onnxruntime's
 *     QDQ quantizer removes these activations the same way).
 */
import type { TensorData } from '../dtype.js';
import type { Graph, Node } from '../loader/model.js';
import { attrFloat } from '../graph/attributes.js';
import { constantValues, consumersOf, producersOf, scalarValue } from './graph-info.js';
import type { ActivationType } from './params.js';

export const WEIGHTED_OPS: ReadonlySet<string> = new Set(['Conv', 'MatMul', 'Gemm']);
const ACTIVATION_OPS: ReadonlySet<string> = new Set([
  'Add', 'Mul', 'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Relu', 'Clip', 'Sigmoid', 'LeakyRelu',
]);
const FOLDABLE_PRODUCERS: ReadonlySet<string> = new Set(['Conv', 'MatMul', 'Gemm', 'Add']);

export function isQuantizableNode(n: Node): boolean {
  return n.domain === '' && (WEIGHTED_OPS.has(n.opType) || ACTIVATION_OPS.has(n.opType));
}

export interface QuantizationPlan {
  /** The graph with foldable activations removed (a copy; node objects are new). */
  graph: Graph;
  constants: Map<string, TensorData>;
  /** Values that need activation parameters (graph inputs and intermediates), in graph order. */
  activations: string[];
}

/** Which inputs of a quantizable node are activations to quantize (weights and biases are handled apart). */
export function activationInputs(n: Node, constants: Map<string, TensorData>): string[] {
  const live = (name: string | undefined): name is string => name !== undefined && name !== '' && !constants.has(name);
  switch (n.opType) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool':
    case 'GlobalAveragePool':
    case 'Relu':
    case 'Clip':
    case 'Sigmoid':
    case 'LeakyRelu':
      return live(n.inputs[0]) ? [n.inputs[0]] : [];
    case 'MatMul':
    case 'Gemm':
      return [n.inputs[0], n.inputs[1]].filter(live);
    default:
      return n.inputs.filter(live);
  }
}

export interface PlanOptions {
  /**
   * Outputs of foldable Relu / Clip nodes to leave in the graph (kept in float by mixed precision: without its
   * uint8 range, the clamp must be computed by the activation itself).
   */
  unfold?: ReadonlySet<string>;
}

export function planQuantization(source: Graph, activationType: ActivationType, options: PlanOptions = {}): QuantizationPlan {
  const constants = constantValues(source);
  const graph: Graph = { ...source, nodes: source.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })) };
  if (activationType === 'uint8') foldActivations(graph, constants, options.unfold ?? new Set());
  const wanted = new Set<string>();
  for (const n of graph.nodes) {
    if (!isQuantizableNode(n)) continue;
    for (const name of activationInputs(n, constants)) wanted.add(name);
    if (n.outputs[0]) wanted.add(n.outputs[0]);
  }
  const order = [...graph.inputs.map((i) => i.name), ...graph.nodes.flatMap((n) => n.outputs)];
  return { graph, constants, activations: order.filter((name) => wanted.has(name)) };
}

function foldActivations(graph: Graph, constants: Map<string, TensorData>, keep: ReadonlySet<string>): void {
  const consumers = consumersOf(graph);
  const producers = producersOf(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  for (const act of graph.nodes) {
    if (act.domain !== '' || !clampsAtZero(act, constants) || keep.has(act.outputs[0]!)) continue;
    const x = act.inputs[0]!;
    const producer = producers.get(x);
    if (!producer || producer.domain !== '' || !FOLDABLE_PRODUCERS.has(producer.opType)) continue;
    if (graphOutputs.has(x) || (consumers.get(x)?.length ?? 0) !== 1) continue;
    producer.outputs[producer.outputs.indexOf(x)] = act.outputs[0]!;
    removed.add(act);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}

/** Relu, or Clip with min 0 (input since opset 11, attribute before). */
function clampsAtZero(n: Node, constants: Map<string, TensorData>): boolean {
  if (n.opType === 'Relu') return true;
  if (n.opType !== 'Clip') return false;
  const min = n.inputs.length > 1 ? (n.inputs[1] === '' ? undefined : scalarValue(constants.get(n.inputs[1]!))) : attrFloat(n, 'min');
  return min === 0;
}
