import type { Graph } from '../../loader/model.js';
import { implicitInputs } from '../scope.js';
import { withOptimisedSubgraphs } from './subgraphs.js';

/**
 * Removes nodes none of whose outputs reach a graph output, and initializers nothing reads (unless
 * they are also declared graph inputs, i.e. overridable defaults). Names a node's subgraphs read from
 * the outer scope count as that node's inputs. Bodies are cleaned first, so what they stop reading
 * no longer keeps outer nodes alive.
 */
export function eliminateDeadCode(graph: Graph): Graph {
  const nodes = graph.nodes.map((n) => withOptimisedSubgraphs(n, eliminateDeadCode));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && producer.set(o, i)));

  const needed = new Set<string>();
  const live = new Array<boolean>(nodes.length).fill(false);
  const work = graph.outputs.map((o) => o.name);
  while (work.length > 0) {
    const name = work.pop()!;
    if (name === '' || needed.has(name)) continue;
    needed.add(name);
    const p = producer.get(name);
    if (p === undefined || live[p]) continue;
    live[p] = true;
    work.push(...nodes[p]!.inputs, ...implicitInputs(nodes[p]!));
  }

  const declaredInputs = new Set(graph.inputs.map((i) => i.name));
  const initializers = new Map([...graph.initializers].filter(([name]) => needed.has(name) || declaredInputs.has(name)));
  const kept = nodes.filter((_, i) => live[i]);
  const unchanged = kept.length === graph.nodes.length && initializers.size === graph.initializers.size && nodes.every((n, i) => n === graph.nodes[i]);
  if (unchanged) return graph;
  const liveNames = new Set([...needed, ...kept.flatMap((n) => n.outputs)]);
  return { ...graph, nodes: kept, initializers, valueInfo: graph.valueInfo.filter((v) => liveNames.has(v.name)) };
}
