import type { TensorData } from '../dtype.js';
import { GraphError, nodeLabel } from '../errors.js';
import type { Attribute, Graph, Node } from '../loader/model.js';

/**
 * Typed attribute readers with ONNX defaults, so a kernel's prepare reads like the spec:
 * `const axis = attrInt(node, 'axis', 1)`. A present attribute of the wrong type is a GraphError.
 */
function get<T extends Attribute['type']>(node: Node, name: string, type: T): Extract<Attribute, { type: T }> | undefined {
  const a = node.attributes.get(name);
  if (a === undefined) return undefined;
  if (a.type !== type) {
    throw new GraphError(`${nodeLabel(node)}: attribute '${name}' should be ${type}, got ${a.type}`);
  }
  return a as Extract<Attribute, { type: T }>;
}

export function hasAttr(node: Node, name: string): boolean {
  return node.attributes.has(name);
}

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  return get(node, name, 'int')?.value ?? fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  return get(node, name, 'float')?.value ?? fallback;
}

export function attrString(node: Node, name: string, fallback: string): string;
export function attrString(node: Node, name: string): string | undefined;
export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  return get(node, name, 'string')?.value ?? fallback;
}

export function attrInts(node: Node, name: string, fallback: number[]): number[];
export function attrInts(node: Node, name: string): number[] | undefined;
export function attrInts(node: Node, name: string, fallback?: number[]): number[] | undefined {
  return get(node, name, 'ints')?.value ?? fallback;
}

export function attrFloats(node: Node, name: string, fallback: number[]): number[];
export function attrFloats(node: Node, name: string): number[] | undefined;
export function attrFloats(node: Node, name: string, fallback?: number[]): number[] | undefined {
  return get(node, name, 'floats')?.value ?? fallback;
}

export function attrStrings(node: Node, name: string, fallback: string[]): string[];
export function attrStrings(node: Node, name: string): string[] | undefined;
export function attrStrings(node: Node, name: string, fallback?: string[]): string[] | undefined {
  return get(node, name, 'strings')?.value ?? fallback;
}

export function attrTensor(node: Node, name: string): TensorData | undefined {
  return get(node, name, 'tensor')?.value;
}

export function attrGraph(node: Node, name: string): Graph | undefined {
  return get(node, name, 'graph')?.value;
}
