/**
 * Builds ONNX models in code for tests:
 *   const b = new ModelBuilder({ opset: 13 });
 *   const x = b.input('x', 'float32', [1, 3, 8, 8]);
 *   const [y] = b.node('Relu', [x]);
 *   b.output(y);
 *   const bytes = b.toBytes();
 * Attribute values are inferred from JS values like test/harness.ts's toAttribute (F/Fs force floats).
 */
import type { DType, TensorData } from '../src/dtype.js';
import type { Attribute, Dim, Graph, Model, Node, ValueInfo, ValueType } from '../src/loader/model.js';
import { encodeModel } from '../src/loader/encode.js';
import { F, Fs, toAttribute, type AttrValue } from './harness.js';

export { F, Fs };

/** Attribute values the builder accepts: everything toAttribute infers, subgraph builders, or an explicit Attribute. */
export type BuilderAttrValue = AttrValue | GraphBuilder | GraphBuilder[] | TensorData[] | { attribute: Attribute };

export interface NodeOptions {
  /** Number of outputs (default 1), or their names. */
  outputs?: number | string[];
  name?: string;
  domain?: string;
}

/** A declared type for inputs/outputs: a dtype and shape, or a full ValueType. */
export type TypeSpec = ValueType | { dtype: DType; shape?: Dim[] | null };

function toValueType(t: TypeSpec | undefined): ValueType {
  if (t === undefined) return { kind: 'unknown' };
  if ('kind' in t) return t;
  return { kind: 'tensor', dtype: t.dtype, shape: t.shape === undefined ? null : t.shape };
}

function toBuilderAttribute(v: BuilderAttrValue): Attribute {
  if (v instanceof GraphBuilder) return { type: 'graph', value: v.toGraph() };
  if (typeof v === 'object' && v !== null && 'attribute' in v) return v.attribute;
  if (Array.isArray(v) && v.length > 0 && v[0] instanceof GraphBuilder) {
    return { type: 'graphs', value: (v as GraphBuilder[]).map((g) => g.toGraph()) };
  }
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null && 'dtype' in v[0]) {
    return { type: 'tensors', value: v as TensorData[] };
  }
  return toAttribute(v as AttrValue);
}

/** Builds one graph: nodes, inputs, outputs, initializers. Value names are generated when not given. */
export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly valueInfo: ValueInfo[] = [];
  private readonly initializers = new Map<string, TensorData>();
  private counter = 0;

  constructor(
    readonly name = 'graph',
    private readonly prefix = '',
  ) {}

  private fresh(base: string): string {
    return `${this.prefix}${base}_${this.counter++}`;
  }

  /** Declares a graph input; dims may be numbers, symbolic names, or null. */
  input(name: string, dtype: DType, shape: Dim[] | null = null): string {
    this.inputs.push({ name, type: { kind: 'tensor', dtype, shape } });
    return name;
  }

  /** Declares a graph input with any ValueType (sequence, optional, ...). */
  inputOfType(name: string, type: ValueType): string {
    this.inputs.push({ name, type });
    return name;
  }

  initializer(name: string, t: TensorData): string {
    this.initializers.set(name, t);
    return name;
  }

  /** Adds a node and returns its output names. */
  node(opType: string, inputs: string[], attrs: Record<string, BuilderAttrValue> = {}, opts: NodeOptions = {}): string[] {
    const outputs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      name: opts.name ?? this.fresh(opType),
      opType,
      domain: opts.domain ?? '',
      inputs: [...inputs],
      outputs,
      attributes: new Map(Object.entries(attrs).map(([k, v]) => [k, toBuilderAttribute(v)])),
    });
    return outputs;
  }

  /** Declares a graph output; the type is optional. */
  output(name: string, type?: TypeSpec): string {
    this.outputs.push({ name, type: toValueType(type) });
    return name;
  }

  /** Adds a value_info entry (the declared type of an intermediate). */
  info(name: string, type: TypeSpec): void {
    this.valueInfo.push({ name, type: toValueType(type) });
  }

  /** A builder for a subgraph (If/Loop/Scan body), passed as an attribute value. */
  subgraph(name = 'body'): GraphBuilder {
    return new GraphBuilder(name, `${name}_`);
  }

  toGraph(): Graph {
    return {
      name: this.name,
      nodes: this.nodes.map((n) => ({ ...n, attributes: new Map(n.attributes) })),
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      initializers: new Map(this.initializers),
      valueInfo: [...this.valueInfo],
    };
  }
}

export interface ModelBuilderOptions {
  /** A default-domain opset version, or a map of domain → version ('' is ai.onnx). */
  opset?: number | Record<string, number>;
  irVersion?: number;
  producerName?: string;
}

export class ModelBuilder extends GraphBuilder {
  private readonly opsets: Map<string, number>;
  private readonly irVersion: number;
  private readonly producerName: string;
  readonly metadata = new Map<string, string>();

  constructor(opts: ModelBuilderOptions = {}) {
    super('main');
    const opset = opts.opset ?? 17;
    this.opsets = new Map(typeof opset === 'number' ? [['', opset]] : Object.entries(opset));
    this.irVersion = opts.irVersion ?? 8;
    this.producerName = opts.producerName ?? 'tinfer-test';
  }

  toModel(): Model {
    return {
      irVersion: this.irVersion,
      opsets: new Map(this.opsets),
      producerName: this.producerName,
      producerVersion: '',
      domain: '',
      modelVersion: 0,
      docString: '',
      metadata: new Map(this.metadata),
      graph: this.toGraph(),
      functions: [],
    };
  }

  toBytes(): Uint8Array {
    return encodeModel(this.toModel());
  }
}
