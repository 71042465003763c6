import { describe, expect, it } from 'vitest';
import { eliminateDeadCode } from '../src/graph/passes/dead-code.js';
import type { Graph, Node } from '../src/loader/model.js';

const tensorType = { kind: 'tensor', dtype: 'float32', shape: [1] } as const;
function node(opType: string, inputs: string[], outputs: string[], attrs: Node['attributes'] = new Map()): Node {
  return { name: outputs[0] ?? opType, opType, domain: '', inputs, outputs, attributes: attrs };
}
function graph(nodes: Node[], inputs: string[], outputs: string[], initializers: string[] = []): Graph {
  return {
    name: 'g',
    nodes,
    inputs: inputs.map((name) => ({ name, type: tensorType })),
    outputs: outputs.map((name) => ({ name, type: tensorType })),
    initializers: new Map(initializers.map((n) => [n, { dtype: 'float32', shape: [1], data: new Float32Array(1) }])),
    valueInfo: [],
  };
}
const names = (g: Graph) => g.nodes.map((n) => n.name);
const ifNode = (cond: string, out: string, body: Graph) => node('If', [cond], [out], new Map([['then_branch', { type: 'graph', value: body }]]));
const bodyOf = (n: Node) => (n.attributes.get('then_branch') as { value: Graph }).value;

describe('eliminateDeadCode', () => {
  it('removes nodes that do not reach a graph output, including dead chains', () => {
    const g = graph([node('Relu', ['x'], ['a']), node('Neg', ['x'], ['d1']), node('Neg', ['d1'], ['d2']), node('Neg', ['a'], ['y'])], ['x'], ['y']);
    expect(names(eliminateDeadCode(g))).toEqual(['a', 'y']);
  });

  it('keeps a node when any one of its outputs is used', () => {
    const g = graph([node('Split', ['x'], ['s0', 's1']), node('Neg', ['s1'], ['y'])], ['x'], ['y']);
    expect(names(eliminateDeadCode(g))).toEqual(['s0', 'y']);
  });

  it('keeps the producers of values that a subgraph reads', () => {
    const body = graph([node('Neg', ['a'], ['r'])], [], ['r']);
    const g = graph([node('Relu', ['x'], ['a']), ifNode('c', 'y', body)], ['x', 'c'], ['y']);
    expect(names(eliminateDeadCode(g))).toEqual(['a', 'y']);
  });

  it('cleans subgraph bodies, so what they stop reading can die outside', () => {
    const body = graph([node('Neg', ['a'], ['unused']), node('Neg', ['c'], ['r'])], [], ['r']);
    const g = graph([node('Relu', ['x'], ['a']), ifNode('c', 'y', body)], ['x', 'c'], ['y']);
    const out = eliminateDeadCode(g);
    expect(names(out)).toEqual(['y']);
    expect(names(bodyOf(out.nodes[0]!))).toEqual(['r']);
  });

  it('drops unread initializers but keeps ones declared as graph inputs', () => {
    const g = graph([node('Add', ['x', 'w'], ['y']), node('Add', ['x', 'v'], ['dead'])], ['x', 'overridable'], ['y'], ['w', 'v', 'unused', 'overridable']);
    const out = eliminateDeadCode(g);
    expect([...out.initializers.keys()]).toEqual(['w', 'overridable']);
    expect(out.inputs.map((i) => i.name)).toEqual(['x', 'overridable']);
  });

  it('returns the same graph when nothing is dead', () => {
    const g = graph([node('Relu', ['x'], ['y'])], ['x'], ['y']);
    expect(eliminateDeadCode(g)).toBe(g);
  });
});
