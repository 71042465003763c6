/**
 * Every error tinfer throws is a TinferError; subclasses say which stage found the problem.
 * Messages name what was wrong and where (byte offset, node name and op, input name).
 */
export class TinferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A malformed or hostile model file: names the byte offset and the field being read. */
export class DecodeError extends TinferError {
  constructor(
    message: string,
    readonly offset: number,
    readonly field: string,
  ) {
    super(`${message} (at byte ${offset}, reading ${field})`);
  }
}

/** A tensor or buffer larger than the configured limit, refused before allocating. */
export class LimitError extends TinferError {}

/** A structurally invalid graph: cycles, dangling inputs, duplicate outputs, bad attributes or shapes. */
export class GraphError extends TinferError {}

/** An operator, data type or attribute combination tinfer does not implement. */
export class UnsupportedError extends TinferError {}

/** Feeds that do not match the model: wrong name, type, rank or dims. */
export class InputError extends TinferError {}

/** Builds the "node 'conv1' (Conv): ..." prefix used by every graph and kernel error. */
export function nodeLabel(node: { name: string; opType: string; domain?: string }): string {
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
  return `node '${node.name || '(unnamed)'}' (${op})`;
}
