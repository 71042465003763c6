/**
 * Every error tinfer throws is a TinferError; subclasses say which stage found the problem.
 * Messages name what was wrong and where (byte offset, node name and op, input name), and the fields below carry
 * the same facts for programs: `err instanceof InputError && err.input === 'pixel_values'`.
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

/** What a bad feed was checked against: the input's name, what the model declares, and what was given. */
export interface InputErrorDetails {
  input?: string;
  expected?: string;
  actual?: string;
}

/**
 * Feeds that do not match the model (wrong name, type, rank or dims; not a Tensor) or values a kernel refuses at
 * run time (an out-of-range Gather index). `input` names the graph input when one is to blame; `expected` and
 * `actual` are short descriptions such as 'float32', 'rank 4', '[1,3,224,224]'.
 */
export class InputError extends TinferError {
  readonly input: string | undefined;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(message: string, details: InputErrorDetails = {}) {
    super(message);
    this.input = details.input;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** A model file that cannot be read: missing, a directory, unreadable. `path` is the path (or URL) given. */
export class ModelFileError extends TinferError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * A bad option: a SessionOptions or RunOptions field, a Tensor constructor argument, or a command-line flag.
 * `option` names it; `valid` lists the accepted values when they are a short list.
 */
export class OptionError extends TinferError {
  constructor(
    message: string,
    readonly option: string,
    readonly valid?: readonly string[],
  ) {
    super(message);
  }
}

/** Any call on a session after `release()`. */
export class SessionReleasedError extends TinferError {
  constructor(readonly method: string) {
    super(`${method}(): the session was released`);
  }
}

/** Builds the "node 'conv1' (Conv): ..." prefix used by every graph and kernel error. */
export function nodeLabel(node: { name: string; opType: string; domain?: string }): string {
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
  return `node '${node.name || '(unnamed)'}' (${op})`;
}
