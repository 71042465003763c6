import type { TensorData } from '../../dtype.js';
import type { Graph, Node } from '../../loader/model.js';
import { implicitInputs } from '../scope.js';
import { withOptimisedBodies } from './subgraphs.js';
import { GraphIndex, rewrite } from './match.js';

/**
 * Removes Identity nodes, Pad nodes whose pads are all zero (exporters emit them before pooling), and
 * inference-mode Dropout (ONNX Dropout outside training is the identity;
 * its mask is then all true, so the node is only removable when the mask is not used), rewiring
 * consumers to read the source. Graph input and output names are kept: when an Identity writes a graph
 * output, the upstream producer's output is renamed to the graph output instead; if the source is a
 * graph input, an initializer, an outer-scope value or another graph output, the Identity stays.
 * Names read by subgraphs are never renamed (that would mean rewriting the bodies).
 */
export function eliminateIdentity(graph: Graph): Graph {
  const withBodies = withOptimisedBodies(graph, eliminateIdentity);
  const index = new GraphIndex(withBodies);
  if (!index.hasOp('Identity') && !index.hasOp('Dropout') && !index.hasOp('Pad')) return withBodies;
  const nodes = withBodies.nodes;
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const isSource = (name: string): boolean => index.isGraphInput(name) || graph.initializers.has(name);
  const readBySubgraph: ReadonlySet<string> = index.hasSubgraphNodes ? new Set(nodes.flatMap(implicitInputs)) : NO_NAMES;
  // Read by a node, a subgraph or as a graph output.
  const isUsed = (name: string): boolean => index.useCount(name) > 0;

  const rewire = new Map<string, string>(); // consumers of key now read value
  const renameOutput = new Map<string, string>(); // a producer's output key is now called value
  const removed = new Set<Node>();
  const resolve = (name: string): string => {
    let seen = 0;
    while (rewire.has(name) && seen++ < rewire.size) name = rewire.get(name)!;
    return name;
  };
  const canRenameUpstream = (x: string): boolean => {
    const p = index.producer(x);
    return p !== undefined && !removed.has(p) && !graphOutputs.has(x) && !isSource(x) && !readBySubgraph.has(x);
  };

  for (const node of nodes) {
    if (!isPassThrough(node, graph.initializers, isUsed) && !isZeroPad(node, index)) continue;
    const x = resolve(node.inputs[0]!);
    const y = node.outputs[0]!;
    if (!graphOutputs.has(y) && !readBySubgraph.has(y)) {
      rewire.set(y, x);
      removed.add(node);
    } else if (graphOutputs.has(y) && canRenameUpstream(x)) {
      renameOutput.set(x, y);
      rewire.set(x, y);
      removed.add(node);
    }
  }
  if (removed.size === 0) return withBodies;

  // Only the nodes reading a rewired name or writing a renamed one change (the index knows which).
  const replacements = new Map<Node, Node>();
  const update = (n: Node): void => {
    if (removed.has(n) || replacements.has(n)) return;
    replacements.set(n, {
      ...n,
      inputs: n.inputs.map((name) => (name === '' ? '' : resolve(name))),
      outputs: n.outputs.map((name) => renameOutput.get(name) ?? name),
    });
  };
  for (const name of rewire.keys()) for (const reader of index.readersOf(name)) update(reader);
  for (const name of renameOutput.keys()) update(index.producer(name)!);
  return rewrite(withBodies, removed, replacements);
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** Identity, or Dropout in inference mode whose mask output is absent or unused. */
function isPassThrough(node: Node, initializers: Map<string, TensorData>, isUsed: (name: string) => boolean): boolean {
  if (node.domain !== '' || node.inputs.length < 1 || node.inputs[0] === '' || !node.outputs[0]) return false;
  if (node.opType === 'Identity') return true;
  if (node.opType !== 'Dropout') return false;
  const mask = node.outputs[1];
  if (mask !== undefined && mask !== '' && isUsed(mask)) return false;
  // Opset 12+: training_mode is input 2; only a known false lets the node go (the kernel handles the rest).
  const training = node.inputs[2];
  if (training === undefined || training === '') return true;
  const value = initializers.get(training);
  return value !== undefined && value.data.length === 1 && !value.data[0];
}

/** Pad with every pad zero (the attribute before opset 11, the constant `pads` input after): the identity. */
function isZeroPad(node: Node, index: GraphIndex): boolean {
  if (node.domain !== '' || node.opType !== 'Pad' || node.inputs.length < 1 || node.inputs[0] === '' || !node.outputs[0]) return false;
  const attr = node.attributes.get('pads');
  if (attr !== undefined) return attr.type === 'ints' && attr.value.every((v) => v === 0);
  const pads = index.constant(node.inputs[1] ?? '');
  return pads !== undefined && pads.data.length > 0 && Array.from(pads.data as ArrayLike<number | bigint>).every((v) => Number(v) === 0);
}
