import { describe, expect, it } from 'vitest';
import { GraphError } from '../src/errors.js';
import { scheduleNodes } from '../src/graph/schedule.js';
import { implicitInputs, outerNames } from '../src/graph/scope.js';
import type { Graph, Node } from '../src/loader/model.js';

const tensorType = { kind: 'tensor', dtype: 'float32', shape: [1] } as const;
function node(name: string, inputs: string[], outputs: string[], bodies: Record<string, Graph> = {}): Node {
  return {
    name,
    opType: Object.keys(bodies).length > 0 ? 'If' : 'Op',
    domain: '',
    inputs,
    outputs,
    attributes: new Map(Object.entries(bodies).map(([k, g]) => [k, { type: 'graph' as const, value: g }])),
  };
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
const names = (nodes: Node[]) => nodes.map((n) => n.name);

function expectGraphError(f: () => unknown, ...fragments: string[]): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(GraphError);
  for (const frag of fragments) expect((error as Error).message).toContain(frag);
}

describe('scheduleNodes', () => {
  it('keeps a file order that is already valid', () => {
    const g = graph([node('a', ['x'], ['a']), node('b', ['x'], ['b']), node('c', ['a', 'b'], ['c'])], ['x'], ['c']);
    expect(names(scheduleNodes(g, []))).toEqual(['a', 'b', 'c']);
  });

  it('moves a consumer after its producer and keeps everything else in file order', () => {
    const g = graph(
      [node('d', ['c'], ['d']), node('a', ['x'], ['a']), node('b', ['x'], ['b']), node('c', ['a'], ['c'])],
      ['x'],
      ['d', 'b'],
    );
    expect(names(scheduleNodes(g, []))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('accepts initializers, outer-scope names and omitted optional inputs', () => {
    const g = graph([node('a', ['x', '', 'w', 'outer'], ['a', ''])], ['x'], ['a'], ['w']);
    expect(names(scheduleNodes(g, ['outer']))).toEqual(['a']);
  });

  it('orders a node holding a subgraph after the producers of what the subgraph reads', () => {
    const body = graph([node('inner', ['late'], ['r'])], [], ['r']);
    const g = graph([node('if', ['cond'], ['y'], { then_branch: body }), node('p', ['x'], ['late'])], ['x', 'cond'], ['y']);
    expect(names(scheduleNodes(g, []))).toEqual(['p', 'if']);
  });

  it('names both writers of a duplicate output', () => {
    const g = graph([node('a', ['x'], ['t']), node('b', ['x'], ['t'])], ['x'], ['t']);
    expectGraphError(() => scheduleNodes(g, []), "node 'b'", "node 'a'", "'t'");
  });

  it('names the node with a dangling input', () => {
    const g = graph([node('a', ['x'], ['a']), node('b', ['a', 'foo'], ['b'])], ['x'], ['b']);
    expectGraphError(() => scheduleNodes(g, []), "node 'b' (Op) reads 'foo'", 'nothing produces');
  });

  it('does not count values produced only inside a subgraph', () => {
    const body = graph([node('inner', ['x'], ['hidden'])], [], ['hidden']);
    const g = graph([node('if', ['x'], ['y'], { then_branch: body }), node('b', ['hidden'], ['z'])], ['x'], ['z']);
    expectGraphError(() => scheduleNodes(g, []), "node 'b'", "'hidden'");
  });

  it('reports a subgraph reading a name nothing provides', () => {
    const body = graph([node('inner', ['ghost'], ['r'])], [], ['r']);
    const g = graph([node('if', ['x'], ['y'], { then_branch: body })], ['x'], ['y']);
    expectGraphError(() => scheduleNodes(g, []), "node 'if' (If)", "'ghost'");
  });

  it('reports a graph output nothing produces', () => {
    const g = graph([node('a', ['x'], ['a'])], ['x'], ['a', 'missing']);
    expectGraphError(() => scheduleNodes(g, []), "output 'missing'");
  });

  it('allows a graph output that is a graph input', () => {
    const g = graph([node('a', ['x'], ['a'])], ['x'], ['a', 'x']);
    expect(names(scheduleNodes(g, []))).toEqual(['a']);
  });

  it('names the nodes of a cycle, not the nodes merely downstream of it', () => {
    const g = graph(
      [node('a', ['x', 'c'], ['a']), node('b', ['a'], ['b']), node('c', ['b'], ['c']), node('d', ['c'], ['d'])],
      ['x'],
      ['d'],
    );
    let message = '';
    try {
      scheduleNodes(g, []);
    } catch (e) {
      expect(e).toBeInstanceOf(GraphError);
      message = (e as Error).message;
    }
    expect(message).toContain('cycle');
    for (const n of ["'a'", "'b'", "'c'"]) expect(message).toContain(n);
    expect(message).not.toContain("'d'");
  });

  it('reports a node that reads its own output as a cycle', () => {
    const g = graph([node('a', ['x', 'a'], ['a'])], ['x'], ['a']);
    expectGraphError(() => scheduleNodes(g, []), "node 'a'", 'cycle');
  });

  it('schedules a 20k-node random DAG given in reverse order, with every producer first', () => {
    const n = 20_000;
    const nodes: Node[] = [];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) {
      const ins = i === 0 ? ['x'] : [`v${Math.floor(rand() * i)}`, `v${Math.max(0, i - 1)}`];
      nodes.push(node(`n${i}`, ins, [`v${i}`]));
    }
    const g = graph([...nodes].reverse(), ['x'], [`v${n - 1}`]);
    const t0 = performance.now();
    const order = scheduleNodes(g, []);
    // A guard against quadratic blow-up, not a benchmark (loaded CI boxes vary 10x).
    expect(performance.now() - t0).toBeLessThan(10_000);
    const position = new Map(order.map((nd, i) => [nd.name, i]));
    for (const nd of order) {
      for (const input of nd.inputs) {
        if (input !== 'x') expect(position.get(`n${input.slice(1)}`)!).toBeLessThan(position.get(nd.name)!);
      }
    }
  });
});

describe('outerNames', () => {
  it('lists names a body reads but does not define, in first-use order', () => {
    const body = graph([node('m', ['i', 'w', 'a'], ['t']), node('n', ['t', 'b', 'a'], ['o'])], ['i'], ['o'], ['w']);
    expect(outerNames(body)).toEqual(['a', 'b']);
  });

  it('includes what nested subgraphs read, minus what the outer body defines', () => {
    const inner = graph([node('k', ['t', 'deep'], ['r'])], [], ['r']);
    const body = graph([node('m', ['i'], ['t']), node('if', ['c'], ['o'], { else_branch: inner })], ['i'], ['o']);
    expect(outerNames(body)).toEqual(['c', 'deep']);
  });

  it('includes a graph output passed straight through from the outer scope', () => {
    const body = graph([], [], ['outer_value']);
    expect(outerNames(body)).toEqual(['outer_value']);
  });

  it('gives a node the union of its subgraphs\' outer names (graphs attributes too)', () => {
    const a = graph([node('k', ['p'], ['r'])], [], ['r']);
    const b = graph([node('k', ['q', 'p'], ['r'])], [], ['r']);
    const n: Node = { ...node('seq', [], ['y']), attributes: new Map([['bodies', { type: 'graphs', value: [a, b] }]]) };
    expect(implicitInputs(n)).toEqual(['p', 'q']);
  });
});
