import { describe, expect, it } from 'vitest';
import { eliminateIdentity } from '../src/graph/passes/eliminate-identity.js';
import { runBasicPasses } from '../src/graph/passes/index.js';
import type { Graph, Node } from '../src/loader/model.js';

const tensorType = { kind: 'tensor', dtype: 'float32', shape: [1] } as const;
function node(opType: string, inputs: string[], outputs: string[], name = outputs[0] ?? opType, attrs: Node['attributes'] = new Map()): Node {
  return { name, opType, domain: '', inputs, outputs, attributes: attrs };
}
function graph(nodes: Node[], inputs: string[], outputs: string[], initializers: Record<string, number[]> = {}): Graph {
  return {
    name: 'g',
    nodes,
    inputs: inputs.map((name) => ({ name, type: tensorType })),
    outputs: outputs.map((name) => ({ name, type: tensorType })),
    initializers: new Map(Object.entries(initializers).map(([n, v]) => [n, { dtype: 'bool', shape: [], data: Uint8Array.from(v) }])),
    valueInfo: [],
  };
}
const wiring = (g: Graph) => g.nodes.map((n) => `${n.opType}(${n.inputs.join(',')})->${n.outputs.join(',')}`);

describe('eliminateIdentity', () => {
  it('rewires consumers of an Identity to its source', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Identity', ['a'], ['b']), node('Neg', ['b'], ['y'])], ['x'], ['y']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Neg(a)->y']);
  });

  it('follows chains of Identities', () => {
    const g = graph(
      [node('Relu', ['x'], ['a']), node('Identity', ['a'], ['b']), node('Identity', ['b'], ['c']), node('Add', ['c', 'b'], ['y'])],
      ['x'],
      ['y'],
    );
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Add(a,a)->y']);
  });

  it('renames the upstream output when the Identity writes a graph output', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Neg', ['a'], ['n']), node('Identity', ['a'], ['y'])], ['x'], ['y', 'n']);
    const out = eliminateIdentity(g);
    expect(wiring(out)).toEqual(['Relu(x)->y', 'Neg(y)->n']);
    expect(out.outputs.map((o) => o.name)).toEqual(['y', 'n']);
  });

  it('keeps an Identity from a graph input to a graph output', () => {
    const g = graph([node('Identity', ['x'], ['y'])], ['x'], ['y']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Identity(x)->y']);
  });

  it('keeps an Identity from an initializer to a graph output', () => {
    const g = graph([node('Identity', ['w'], ['y'])], [], ['y'], { w: [1] });
    expect(wiring(eliminateIdentity(g))).toEqual(['Identity(w)->y']);
  });

  it('keeps an Identity copying one graph output to another', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Identity', ['a'], ['b'])], ['x'], ['a', 'b']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Identity(a)->b']);
  });

  it('renames upstream once, then keeps the second Identity of a graph-output chain', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Identity', ['a'], ['o1']), node('Identity', ['o1'], ['o2'])], ['x'], ['o1', 'o2']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->o1', 'Identity(o1)->o2']);
  });

  it('removes inference Dropout without a mask or with an unused mask', () => {
    const g = graph(
      [node('Dropout', ['x'], ['a']), node('Dropout', ['a', 'ratio'], ['b', 'unused_mask']), node('Neg', ['b'], ['y'])],
      ['x', 'ratio'],
      ['y'],
    );
    expect(wiring(eliminateIdentity(g))).toEqual(['Neg(x)->y']);
  });

  it('keeps Dropout whose mask is used', () => {
    const g = graph([node('Dropout', ['x'], ['a', 'm']), node('Neg', ['a'], ['y'])], ['x'], ['y', 'm']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Dropout(x)->a,m', 'Neg(a)->y']);
  });

  it('removes Dropout with training_mode known false, keeps it when true or unknown', () => {
    const mk = (training: string) =>
      graph([node('Relu', ['x'], ['r']), node('Dropout', ['r', '', training], ['a']), node('Neg', ['a'], ['y'])], ['x', 't'], ['y'], {
        f: [0],
        tr: [1],
      });
    expect(wiring(eliminateIdentity(mk('f')))).toEqual(['Relu(x)->r', 'Neg(r)->y']);
    expect(eliminateIdentity(mk('tr')).nodes).toHaveLength(3);
    expect(eliminateIdentity(mk('t')).nodes).toHaveLength(3);
  });

  it('keeps an Identity whose output a subgraph reads', () => {
    const body = graph([node('Neg', ['b'], ['r'])], [], ['r']);
    const iff = node('If', ['c'], ['y'], 'if', new Map([['then_branch', { type: 'graph', value: body }]]));
    const g = graph([node('Relu', ['x'], ['a']), node('Identity', ['a'], ['b']), iff], ['x', 'c'], ['y']);
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Identity(a)->b', 'If(c)->y']);
  });

  it('removes Identities inside a subgraph body, keeping the body outputs', () => {
    const body = graph([node('Neg', ['outer'], ['t']), node('Identity', ['t'], ['u']), node('Identity', ['u'], ['r'])], [], ['r']);
    const iff = node('If', ['c'], ['y'], 'if', new Map([['then_branch', { type: 'graph', value: body }]]));
    const out = eliminateIdentity(graph([iff], ['c', 'outer'], ['y']));
    const newBody = (out.nodes[0]!.attributes.get('then_branch') as { value: Graph }).value;
    expect(wiring(newBody)).toEqual(['Neg(outer)->r']);
    expect(wiring(body)).toHaveLength(3); // the input graph is not mutated
  });

  it('does not mutate its input graph', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Identity', ['a'], ['y'])], ['x'], ['y']);
    const before = JSON.stringify(wiring(g));
    eliminateIdentity(g);
    expect(JSON.stringify(wiring(g))).toBe(before);
  });

  it('runBasicPasses keeps graph input and output names', () => {
    const g = graph([node('Identity', ['x'], ['a']), node('Relu', ['a'], ['b']), node('Identity', ['b'], ['y']), node('Neg', ['x'], ['dead'])], ['x'], ['y']);
    const out = runBasicPasses(g);
    expect(wiring(out)).toEqual(['Relu(x)->y']);
    expect(out.inputs.map((i) => i.name)).toEqual(['x']);
    expect(out.outputs.map((o) => o.name)).toEqual(['y']);
  });
});

describe('eliminateIdentity on Pad with zero pads', () => {
  const int64 = (v: number[]) => ({ dtype: 'int64' as const, shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
  const withPads = (g: Graph, pads: number[]): Graph => ({ ...g, initializers: new Map([['p', int64(pads)]]) });

  it('removes a Pad whose constant pads input is all zero (opset 11+), as exporters put before AveragePool', () => {
    const g = withPads(graph([node('Relu', ['x'], ['a']), node('Pad', ['a', 'p'], ['b']), node('Neg', ['b'], ['y'])], ['x'], ['y']), [0, 0, 0, 0, 0, 0, 0, 0]);
    expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Neg(a)->y']);
  });

  it('removes a Pad whose pads come from a Constant node, and one with a zero pads attribute (opset < 11)', () => {
    const constant = node('Constant', [], ['p'], 'c', new Map([['value', { type: 'tensor', value: int64([0, 0, 0, 0]) }]]));
    const g1 = graph([node('Relu', ['x'], ['a']), constant, node('Pad', ['a', 'p'], ['b']), node('Neg', ['b'], ['y'])], ['x'], ['y']);
    expect(wiring(eliminateIdentity(g1))).toEqual(['Relu(x)->a', 'Constant()->p', 'Neg(a)->y']);
    const g2 = graph([node('Relu', ['x'], ['a']), node('Pad', ['a'], ['b'], 'pad', new Map([['pads', { type: 'ints', value: [0, 0, 0, 0] }]])), node('Neg', ['b'], ['y'])], ['x'], ['y']);
    expect(wiring(eliminateIdentity(g2))).toEqual(['Relu(x)->a', 'Neg(a)->y']);
  });

  it('keeps a Pad with any non-zero (or negative) pad, and one whose pads are a runtime value', () => {
    for (const pads of [[0, 0, 0, 1, 0, 0, 0, 0], [0, -1, 0, 0]]) {
      const g = withPads(graph([node('Relu', ['x'], ['a']), node('Pad', ['a', 'p'], ['b']), node('Neg', ['b'], ['y'])], ['x'], ['y']), pads);
      expect(wiring(eliminateIdentity(g))).toEqual(['Relu(x)->a', 'Pad(a,p)->b', 'Neg(b)->y']);
    }
    const runtime = graph([node('Relu', ['x'], ['a']), node('Pad', ['a', 'q'], ['b']), node('Neg', ['b'], ['y'])], ['x', 'q'], ['y']);
    expect(wiring(eliminateIdentity(runtime))).toEqual(['Relu(x)->a', 'Pad(a,q)->b', 'Neg(b)->y']);
  });
});
