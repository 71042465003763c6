/**
 * Built-in model architectures generated in code with seeded random weights (like benchncnn's param files),
 * so `tinfer bench --builtin` needs no download.
 */
import type { TensorData } from '../dtype.js';
import type { Attribute, Graph, Model, Node } from '../loader/model.js';

class GraphMaker {
  readonly nodes: Node[] = [];
  readonly initializers = new Map<string, TensorData>();
  private seed = 42;
  private count = 0;

  private random(): number {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed / 4294967296;
  }

  weight(shape: number[], fanIn: number): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale = Math.sqrt(2 / fanIn);
    for (let i = 0; i < n; i++) data[i] = (this.random() * 2 - 1) * scale;
    const name = `w${this.initializers.size}`;
    this.initializers.set(name, { dtype: 'float32', shape, data });
    return name;
  }

  scalar(value: number): string {
    const name = `c${this.initializers.size}`;
    this.initializers.set(name, { dtype: 'float32', shape: [], data: new Float32Array([value]) });
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    const out = `t${this.count++}`;
    const attributes = new Map<string, Attribute>(
      Object.entries(attrs).map(([k, v]) => [k, Array.isArray(v) ? { type: 'ints', value: v } : Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v }]),
    );
    this.nodes.push({ name: `${opType}_${this.count}`, opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  }

  conv(x: string, cin: number, cout: number, k: number, stride = 1, group = 1): string {
    const w = this.weight([cout, cin / group, k, k], (cin / group) * k * k);
    const b = this.weight([cout], cout);
    const p = (k - 1) >> 1;
    return this.op('Conv', [x, w, b], { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p], group });
  }

  graph(name: string, input: string, inShape: number[], output: string, outShape: number[]): Graph {
    return {
      name,
      nodes: this.nodes,
      inputs: [{ name: input, type: { kind: 'tensor', dtype: 'float32', shape: inShape } }],
      outputs: [{ name: output, type: { kind: 'tensor', dtype: 'float32', shape: outShape } }],
      initializers: this.initializers,
      valueInfo: [],
    };
  }
}

function model(graph: Graph): Model {
  return {
    irVersion: 8,
    opsets: new Map([['', 13]]),
    producerName: 'tinfer-builtin',
    producerVersion: '',
    domain: '',
    modelVersion: 1,
    docString: '',
    metadata: new Map(),
    graph,
    functions: [],
  };
}

/** ResNet-style: 7x7/2 stem, max pool, 4 basic residual blocks of 64 channels, global pool, classifier. */
function resnetBlocks(): Model {
  const g = new GraphMaker();
  let x = g.op('Relu', [g.conv('input', 3, 64, 7, 2)]);
  x = g.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  for (let i = 0; i < 4; i++) {
    const y = g.conv(g.op('Relu', [g.conv(x, 64, 64, 3)]), 64, 64, 3);
    x = g.op('Relu', [g.op('Add', [x, y])]);
  }
  x = g.op('Flatten', [g.op('GlobalAveragePool', [x])]);
  const out = g.op('Gemm', [x, g.weight([1000, 64], 64), g.weight([1000], 64)], { transB: 1 });
  return model(g.graph('resnet_blocks', 'input', [1, 3, 224, 224], out, [1, 1000]));
}

/** MobileNetV2-style inverted residuals: 1x1 expand, 3x3 depthwise, 1x1 project, Relu6 as Clip. */
function mobilenetBlocks(): Model {
  const g = new GraphMaker();
  const zero = g.scalar(0);
  const six = g.scalar(6);
  const relu6 = (t: string): string => g.op('Clip', [t, zero, six]);
  let x = g.op('Relu', [g.conv('input', 3, 32, 3, 2)]);
  const blocks: [number, number, number][] = [
    [32, 16, 1],
    [16, 24, 2],
    [24, 24, 1],
    [24, 32, 2],
    [32, 32, 1],
    [32, 64, 2],
    [64, 64, 1],
    [64, 96, 1],
  ];
  for (const [cin, cout, stride] of blocks) {
    const hidden = cin * 6;
    let y = relu6(g.conv(x, cin, hidden, 1));
    y = relu6(g.conv(y, hidden, hidden, 3, stride, hidden));
    y = g.conv(y, hidden, cout, 1);
    x = stride === 1 && cin === cout ? g.op('Add', [x, y]) : y;
  }
  x = g.op('Flatten', [g.op('GlobalAveragePool', [x])]);
  const out = g.op('Gemm', [x, g.weight([1000, 96], 96), g.weight([1000], 96)], { transB: 1 });
  return model(g.graph('mobilenet_blocks', 'input', [1, 3, 224, 224], out, [1, 1000]));
}

/** A 4-layer MLP on 512 features: GEMM-bound. */
function mlp(): Model {
  const g = new GraphMaker();
  let x = 'input';
  for (let i = 0; i < 4; i++) {
    x = g.op('Relu', [g.op('Gemm', [x, g.weight([512, 512], 512), g.weight([512], 512)], { transB: 1 })]);
  }
  return model(g.graph('mlp', 'input', [16, 512], x, [16, 512]));
}

export const BUILTIN_MODELS: Record<string, () => Model> = {
  resnet_blocks: resnetBlocks,
  mobilenet_blocks: mobilenetBlocks,
  mlp,
};
