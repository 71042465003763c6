/**
 * QOperator output format: integer operators consume and produce quantized tensors directly.
 *   Conv -> QLinearConv, MatMul -> QLinearMatMul, Gemm -> com.microsoft QGemm, Add -> com.microsoft QLinearAdd,
 *   GlobalAveragePool -> com.microsoft QLinearGlobalAveragePool, Concat -> com.microsoft QLinearConcat;
 *   MaxPool (opset >= 12) and pure data movement (Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Identity)
 *   run on the quantized tensor and keep its scale and zero point;
 *   everything else stays float, with DequantizeLinear before it and QuantizeLinear after it where a quantized
 *   reader needs its output. Graph outputs are dequantized back to their original names.
 * Tensors are converted lazily: a QuantizeLinear or DequantizeLinear is emitted just before the first node that
 * needs the other form, and reused after.
 */
import type { Model, Node } from '../loader/model.js';
import { attrInt } from '../graph/attributes.js';
import { quantizeBias, type QuantParams } from './params.js';
import { GraphWriter, type WriterSettings } from './qdq.js';
import { weightSlots } from './weights.js';
import type { QuantizationPlan } from './plan.js';

const DATA_MOVEMENT: ReadonlySet<string> = new Set(['Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);

interface QuantizedValue {
  name: string;
  scale: string;
  zeroPoint: string;
  params: QuantParams;
}

class QOperatorWriter {
  readonly w: GraphWriter;
  readonly nodes: Node[] = [];
  private readonly quantized = new Map<string, QuantizedValue>();
  private readonly floats = new Set<string>();

  constructor(
    plan: QuantizationPlan,
    private readonly params: Map<string, QuantParams>,
    private readonly settings: WriterSettings,
  ) {
    this.w = new GraphWriter(plan);
    for (const i of plan.graph.inputs) this.floats.add(i.name);
    for (const name of plan.graph.initializers.keys()) this.floats.add(name);
  }

  canQuantize(name: string): boolean {
    return this.quantized.has(name) || (this.params.has(name) && this.floats.has(name));
  }

  /** The quantized form of a float value, emitting a QuantizeLinear the first time. */
  quantizedOf(name: string): QuantizedValue {
    let q = this.quantized.get(name);
    if (!q) {
      const p = this.params.get(name)!;
      const [scale, zeroPoint] = this.w.activationParams(name, p);
      q = { name: this.w.names.fresh(`${name}_quantized`), scale, zeroPoint, params: p };
      this.nodes.push(this.w.node('QuantizeLinear', [name, scale, zeroPoint], [q.name]));
      this.quantized.set(name, q);
    }
    return q;
  }

  /** Makes the float value available under its own name, emitting a DequantizeLinear if only its quantized form exists. */
  ensureFloat(name: string): void {
    if (name === '' || this.floats.has(name)) return;
    const q = this.quantized.get(name);
    if (!q) return; // a constant or a value produced by a float node later in the list: nothing to do
    this.nodes.push(this.w.node('DequantizeLinear', [q.name, q.scale, q.zeroPoint], [name]));
    this.floats.add(name);
  }

  /** A fresh quantized output with the activation parameters chosen for `name`. */
  newQuantized(name: string, params = this.params.get(name)!): QuantizedValue {
    const [scale, zeroPoint] = this.w.activationParams(name, params);
    const q = { name: this.w.names.fresh(`${name}_quantized`), scale, zeroPoint, params };
    this.quantized.set(name, q);
    return q;
  }

  emitFloat(n: Node): void {
    for (const i of n.inputs) this.ensureFloat(i);
    this.nodes.push(n);
    for (const o of n.outputs) this.floats.add(o);
  }

  emit(n: Node): void {
    if (n.domain === '' && this.tryInteger(n)) return;
    this.emitFloat(n);
  }

  private tryInteger(n: Node): boolean {
    const x = n.inputs[0] ?? '';
    const y = n.outputs[0] ?? '';
    const hasY = this.params.has(y);
    switch (n.opType) {
      case 'Conv':
      case 'Gemm':
      case 'MatMul':
        return hasY && this.canQuantize(x) && this.weighted(n);
      case 'Add':
        return hasY && n.inputs.length === 2 && this.canQuantize(x) && this.canQuantize(n.inputs[1]!) && this.binary(n, 'QLinearAdd');
      case 'GlobalAveragePool':
        return hasY && this.canQuantize(x) && this.globalAveragePool(n);
      case 'Concat':
        return hasY && n.inputs.every((i) => this.canQuantize(i)) && this.concat(n);
      case 'MaxPool':
        return this.settings.opset >= 12 && n.outputs.length === 1 && this.quantized.has(x) && this.passThrough(n);
      default:
        return DATA_MOVEMENT.has(n.opType) && this.quantized.has(x) && !this.floats.has(x) && this.passThrough(n);
    }
  }

  private weighted(n: Node): boolean {
    const slots = weightSlots(n, this.w.plan.constants);
    if (!slots) return false;
    if (n.opType === 'Gemm' && attrInt(n, 'transA', 0) !== 0) return false;
    const x = this.quantizedOf(n.inputs[0]!);
    const axis = this.settings.perChannel ? slots.axis : undefined;
    const qw = this.w.weight(n.inputs[slots.weight]!, axis, n, this.settings);
    const [wq, ws, wz] = qw.names;
    let bias = '';
    if (slots.bias !== undefined) {
      const biasName = n.inputs[slots.bias]!;
      const qb = quantizeBias(this.w.bias(n, biasName, n.inputs[slots.weight]!, qw, this.settings), x.params.scale, qw.scales);
      bias = this.w.constant(`${biasName}_quantized`, qb.q);
    }
    const y = this.newQuantized(n.outputs[0]!);
    const name = this.w.names.fresh(n.name || `${n.outputs[0]}_${n.opType}`);
    if (n.opType === 'Conv') {
      const inputs = [x.name, x.scale, x.zeroPoint, wq, ws, wz, y.scale, y.zeroPoint];
      if (bias) inputs.push(bias);
      this.nodes.push({ ...n, name, opType: 'QLinearConv', inputs, outputs: [y.name] });
    } else if (n.opType === 'MatMul') {
      this.nodes.push({ ...n, name, opType: 'QLinearMatMul', inputs: [x.name, x.scale, x.zeroPoint, wq, ws, wz, y.scale, y.zeroPoint], outputs: [y.name] });
    } else {
      const attributes = new Map([...n.attributes].filter(([k]) => k === 'alpha' || k === 'transA' || k === 'transB'));
      const inputs = [x.name, x.scale, x.zeroPoint, wq, ws, wz, bias, y.scale, y.zeroPoint];
      this.nodes.push({ ...n, name, opType: 'QGemm', domain: 'com.microsoft', attributes, inputs, outputs: [y.name] });
    }
    return true;
  }

  private binary(n: Node, opType: string): boolean {
    const a = this.quantizedOf(n.inputs[0]!);
    const b = this.quantizedOf(n.inputs[1]!);
    const y = this.newQuantized(n.outputs[0]!);
    const inputs = [a.name, a.scale, a.zeroPoint, b.name, b.scale, b.zeroPoint, y.scale, y.zeroPoint];
    this.nodes.push({ ...n, name: this.w.names.fresh(n.name || opType), opType, domain: 'com.microsoft', inputs, outputs: [y.name] });
    return true;
  }

  private globalAveragePool(n: Node): boolean {
    const x = this.quantizedOf(n.inputs[0]!);
    const y = this.newQuantized(n.outputs[0]!);
    const attributes: Node['attributes'] = new Map([['channels_last', { type: 'int', value: 0 }]]);
    const inputs = [x.name, x.scale, x.zeroPoint, y.scale, y.zeroPoint];
    this.nodes.push({ ...n, name: this.w.names.fresh(n.name || 'QLinearGlobalAveragePool'), opType: 'QLinearGlobalAveragePool', domain: 'com.microsoft', attributes, inputs, outputs: [y.name] });
    return true;
  }

  private concat(n: Node): boolean {
    const xs = n.inputs.map((i) => this.quantizedOf(i));
    const y = this.newQuantized(n.outputs[0]!);
    const inputs = [y.scale, y.zeroPoint, ...xs.flatMap((x) => [x.name, x.scale, x.zeroPoint])];
    this.nodes.push({ ...n, name: this.w.names.fresh(n.name || 'QLinearConcat'), opType: 'QLinearConcat', domain: 'com.microsoft', inputs, outputs: [y.name] });
    return true;
  }

  /** The op runs on the quantized tensor unchanged; its output keeps the input's scale and zero point. */
  private passThrough(n: Node): boolean {
    const x = this.quantized.get(n.inputs[0]!)!;
    const y = this.w.names.fresh(`${n.outputs[0]}_quantized`);
    this.quantized.set(n.outputs[0]!, { ...x, name: y });
    this.nodes.push({ ...n, inputs: [x.name, ...n.inputs.slice(1)], outputs: [y] });
    return true;
  }
}

export function writeQOperator(source: Model, plan: QuantizationPlan, params: Map<string, QuantParams>, settings: WriterSettings): Model {
  const q = new QOperatorWriter(plan, params, settings);
  for (const n of plan.graph.nodes) q.emit({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] });
  for (const o of plan.graph.outputs) q.ensureFloat(o.name);
  const model = q.w.finish(source, q.nodes, settings.opset);
  if (q.nodes.some((n) => n.domain === 'com.microsoft') && !model.opsets.has('com.microsoft')) model.opsets.set('com.microsoft', 1);
  return model;
}
