/**
 * QDQ output format (what onnxruntime's quantizer emits with QuantFormat.QDQ):
 *   activation t:  t -> QuantizeLinear -> t_quantized -> DequantizeLinear -> t_dequantized -> every reader of t
 *   weight w:      w_quantized (int8 initializer) -> DequantizeLinear(axis) -> the weighted op
 *   bias b:        b_quantized (int32, scale x_scale * w_scale, zero point 0) -> DequantizeLinear -> the op
 * The float ops stay as they are, so the model is valid everywhere; a runtime fuses DQ -> op -> Q into integer
 * kernels. Graph outputs keep their float producers.
 */
import type { TensorData } from '../dtype.js';
import type { Graph, Model, Node } from '../loader/model.js';
import { NameAllocator } from './graph-info.js';
import { quantizeBias, quantizeWeight, scalarTensor, type QuantParams, type QuantizedWeight } from './params.js';
import { isQuantizableNode, WEIGHTED_OPS, type QuantizationPlan } from './plan.js';
import { weightSlots } from './weights.js';
import { correctedBias, quantizationShift } from './bias-correction.js';
import { gptqWeight, type InputGram } from './gptq.js';

export interface WriterSettings {
  perChannel: boolean;
  /** The default-domain opset of the written model. */
  opset: number;
  /** Per-channel means of weighted ops' inputs: when given, biases absorb the weight rounding's mean shift. */
  inputMeans?: Map<string, Float64Array>;
  /** Input Grams of weighted nodes, by the node's first output: when given, weights are rounded with GPTQ. */
  inputGrams?: Map<string, InputGram>;
  /** Per-channel output shifts to subtract from biases, by the weighted node's first output (empirical correction). */
  outputShifts?: Map<string, Float64Array>;
  /** Weight initializers to leave in float (mixed precision); their nodes' biases stay float too. */
  floatWeights?: ReadonlySet<string>;
}

/** Builds nodes and initializers of one output graph; shared by the QDQ and QOperator writers. */
export class GraphWriter {
  readonly names: NameAllocator;
  readonly initializers: Map<string, TensorData>;
  private readonly quantizedWeights = new Map<string, QuantizedWeight & { names: [string, string, string] }>();

  constructor(readonly plan: QuantizationPlan) {
    this.names = new NameAllocator(plan.graph);
    this.initializers = new Map(plan.graph.initializers);
  }

  node(opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = new Map(), domain = ''): Node {
    return { name: this.names.fresh(`${outputs[0]}_${opType}`), opType, domain, inputs, outputs, attributes };
  }

  constant(base: string, t: TensorData): string {
    const name = this.names.fresh(base);
    this.initializers.set(name, t);
    return name;
  }

  /** Scale and zero-point initializers of an activation. */
  activationParams(name: string, p: QuantParams): [string, string] {
    return [this.constant(`${name}_scale`, scalarTensor('float32', p.scale)), this.constant(`${name}_zero_point`, scalarTensor(p.dtype, p.zeroPoint))];
  }

  /**
   * int8 weight, its scale and zero point as initializers (once per weight and axis; a weight shared by several
   * nodes is rounded for the first one's inputs).
   */
  weight(name: string, axis: number | undefined, node?: Node, settings?: WriterSettings): QuantizedWeight & { names: [string, string, string] } {
    const key = `${name}\u0000${axis ?? ''}`;
    let q = this.quantizedWeights.get(key);
    if (!q) {
      const value = this.plan.constants.get(name)!;
      let w = quantizeWeight(value, axis);
      const gram = node && settings?.inputGrams?.get(node.outputs[0]!);
      if (node && gram) w = gptqWeight(node, value, w, gram) ?? w;
      const names: [string, string, string] = [this.constant(`${name}_quantized`, w.q), this.constant(`${name}_scale`, w.scale), this.constant(`${name}_zero_point`, w.zeroPoint)];
      q = { ...w, names };
      this.quantizedWeights.set(key, q);
    }
    return q;
  }

  /** The float bias of a weighted node, corrected for its weight's quantization when input means are known. */
  bias(node: Node, biasName: string, weightName: string, qw: QuantizedWeight, settings: WriterSettings): TensorData {
    let bias = this.plan.constants.get(biasName)!;
    const mean = settings.inputMeans?.get(node.inputs[0]!);
    const shift = mean && quantizationShift(node, this.plan.constants.get(weightName)!, qw, mean);
    if (shift) bias = correctedBias(bias, shift);
    const measured = settings.outputShifts?.get(node.outputs[0]!);
    return measured && measured.length === bias.data.length ? correctedBias(bias, measured) : bias;
  }

  /** Drops float initializers nothing reads any more (weights replaced by their int8 form). */
  finish(source: Model, allNodes: Node[], opset: number): Model {
    // Constant nodes whose only reader was a folded activation (Clip's min/max) are dropped too.
    const readers = new Set(allNodes.flatMap((n) => n.inputs));
    for (const o of source.graph.outputs) readers.add(o.name);
    const nodes = allNodes.filter((n) => n.opType !== 'Constant' || n.domain !== '' || n.outputs.some((o) => readers.has(o)));
    const read = new Set(nodes.flatMap((n) => n.inputs));
    for (const o of source.graph.outputs) read.add(o.name);
    const initializers = new Map([...this.initializers].filter(([name]) => read.has(name)));
    const inputs = source.graph.inputs.filter((i) => !source.graph.initializers.has(i.name) || initializers.has(i.name));
    const opsets = new Map(source.opsets);
    opsets.set('', Math.max(opsets.get('') ?? opset, opset));
    return { ...source, opsets, graph: { ...source.graph, nodes, inputs, initializers } };
  }
}

export function writeQdq(source: Model, plan: QuantizationPlan, params: Map<string, QuantParams>, settings: WriterSettings): Model {
  const w = new GraphWriter(plan);
  const head: Node[] = [];
  const dequantized = new Map<string, string>();
  const qdqPair = (t: string): Node[] => {
    const p = params.get(t)!;
    const [scale, zp] = w.activationParams(t, p);
    const q = w.names.fresh(`${t}_quantized`);
    const dq = w.names.fresh(`${t}_dequantized`);
    dequantized.set(t, dq);
    return [w.node('QuantizeLinear', [t, scale, zp], [q]), w.node('DequantizeLinear', [q, scale, zp], [dq])];
  };
  for (const i of plan.graph.inputs) if (params.has(i.name)) head.push(...qdqPair(i.name));
  const body: Node[] = [];
  for (const n of plan.graph.nodes) {
    const node = { ...n, inputs: [...n.inputs] };
    if (WEIGHTED_OPS.has(n.opType) && isQuantizableNode(n)) head.push(...dequantizeWeights(w, node, params, settings));
    body.push(node);
    for (const o of n.outputs) if (params.has(o)) body.push(...qdqPair(o));
  }
  // Rewire readers of each quantized activation to its dequantized copy (its own QuantizeLinear keeps reading t).
  const quantizers = new Set<Node>();
  for (const n of [...head, ...body]) if (n.opType === 'QuantizeLinear') quantizers.add(n);
  for (const n of [...head, ...body]) {
    if (quantizers.has(n)) continue;
    n.inputs = n.inputs.map((name) => dequantized.get(name) ?? name);
  }
  return w.finish(source, [...head, ...body], settings.opset);
}

/** Replaces the weight (and bias) inputs of a weighted node with DequantizeLinear outputs; returns those nodes. */
function dequantizeWeights(w: GraphWriter, node: Node, params: Map<string, QuantParams>, settings: WriterSettings): Node[] {
  const slots = weightSlots(node, w.plan.constants);
  if (!slots || settings.floatWeights?.has(node.inputs[slots.weight]!)) return [];
  const axis = settings.perChannel ? slots.axis : undefined;
  const weightName = node.inputs[slots.weight]!;
  const qw = w.weight(weightName, axis, node, settings);
  const axisAttr: Node['attributes'] = axis === undefined ? new Map() : new Map([['axis', { type: 'int', value: axis }]]);
  const wDq = w.names.fresh(`${weightName}_dequantized`);
  const nodes = [w.node('DequantizeLinear', [...qw.names], [wDq], axisAttr)];
  node.inputs[slots.weight] = wDq;
  const x = params.get(node.inputs[0]!);
  if (slots.bias !== undefined && x !== undefined) {
    const biasName = node.inputs[slots.bias]!;
    const qb = quantizeBias(w.bias(node, biasName, weightName, qw, settings), x.scale, qw.scales);
    const bDq = w.names.fresh(`${biasName}_dequantized`);
    const biasAxis: Node['attributes'] = qw.scales.length > 1 ? new Map([['axis', { type: 'int', value: 0 }]]) : new Map();
    nodes.push(w.node('DequantizeLinear', [w.constant(`${biasName}_quantized`, qb.q), w.constant(`${biasName}_scale`, qb.scale)], [bDq], biasAxis));
    node.inputs[slots.bias] = bDq;
  }
  return nodes;
}
