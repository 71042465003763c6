import type { Graph } from '../../loader/model.js';

/** Placeholder until the passes land: the graph unchanged. */
export function runBasicPasses(graph: Graph): Graph {
  return graph;
}
