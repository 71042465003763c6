import type { Data, DType, TensorData, TensorType } from '../dtype.js';
export type { Data, DType, TensorData, TensorType } from '../dtype.js';
import { GraphError, nodeLabel } from '../errors.js';
import type { Graph, Node } from '../loader/model.js';
import type { WasmContext } from '../wasm/context.js';

/**
 * A kernel has two phases, like an NCNN layer's create_pipeline + forward:
 * - prepare (once per input-shape signature): validate, compute output types, pre-pack weights,
 *   state scratch needs and in-place/alias capabilities;
 * - run (many times): read input views, write output views. It allocates nothing.
 */
export interface KernelDef {
  /** ONNX op type, e.g. 'Conv'. */
  opType: string;
  /** '' for the default ai.onnx domain, 'com.microsoft' for contrib ops. */
  domain?: string;
  prepare(ctx: PrepareContext): PreparedKernel;
}

/** Per-session knobs that kernels may read at prepare (e.g. forcing a convolution path). */
export interface KernelOptions {
  /**
   * The WebAssembly SIMD context when the wasm backend is active: kernels upload packed weights into its memory at
   * prepare and call its kernels at run when their views live in that memory (the arena does), else run in JS.
   */
  wasm?: WasmContext;
  /** Force a convolution algorithm: 'auto' picks per layer. */
  convAlgorithm?: 'auto' | 'reference' | 'im2col' | 'winograd' | 'direct';
  [key: string]: unknown;
}

/** A compiled subgraph (If/Loop/Scan bodies) that a control-flow kernel can run. */
export interface SubgraphRunner {
  /** Names of outer-scope values the body reads; the kernel receives them after its declared inputs. */
  readonly outerNames: readonly string[];
  /** Runs the body with values for its formal inputs, then its outer-scope values, and returns its outputs. */
  run(inputs: readonly TensorData[], outer: readonly TensorData[]): TensorData[];
  /**
   * Plans the body once for these input and outer types, so a kernel can run it with no allocation. Outer values
   * given in `outerConstants` (the parent's initializers) are planned as constants: weights read across the
   * boundary (Silero's LSTM inside an If) get packed once like any other.
   * Returns undefined when the body's shapes depend on runtime values (then use run()).
   */
  prepare(inputs: readonly TensorType[], outer: readonly TensorType[], outerConstants?: readonly (TensorData | undefined)[]): PreparedSubgraph | undefined;
}

/**
 * A body planned for fixed types: run() copies `feeds` (formal inputs, then outer values) into its arena and
 * writes outputs into the given views.
 */
export interface PreparedSubgraph {
  readonly outputs: readonly TensorType[];
  run(feeds: readonly Data[], outputs: readonly Data[]): void;
}

export interface PrepareContext {
  readonly node: Node;
  /** Opset version of the node's domain. */
  readonly opset: number;
  /**
   * Types of the node's inputs in order; undefined for omitted optional inputs (name '').
   * Control-flow nodes also get their implicit outer-scope inputs after the declared ones.
   */
  readonly inputs: readonly (TensorType | undefined)[];
  /** Values of inputs that are known at prepare time (initializers, folded constants, all inputs when eager). */
  readonly constants: readonly (TensorData | undefined)[];
  readonly options: KernelOptions;
  /** Compiles a subgraph attribute for control-flow kernels. */
  compileSubgraph?(graph: Graph): SubgraphRunner;
}

export interface ScratchSpec {
  dtype: DType;
  length: number;
}

export interface PreparedKernel {
  /** Output types in the node's output order (entries for omitted optional outputs may be given anyway). */
  outputs: TensorType[];
  /** Scratch buffers live only during this step, given to run() in order. */
  scratch?: ScratchSpec[];
  /** Output 0 may be written over input `inPlace` when that input dies here (elementwise kernels). */
  inPlace?: number;
  /**
   * Output 0 is input `alias` itself, reinterpreted with a new shape (Reshape, Flatten, Squeeze, Identity).
   * The planner shares the buffer and never calls run for it.
   */
  alias?: number;
  /**
   * Output 0 holds a value fixed at prepare time (Shape, Size, ConstantOfShape with constant input).
   * The planner treats it as a constant and never calls run.
   */
  constantOutputs?: TensorData[];
  /**
   * How this node runs, for profiles (session.profile(), `tinfer bench --profile`): the path chosen at prepare,
   * e.g. 'wasm gemm 4x8 packed B', 'js sgemm', 'wasm depthwise 3x3s2'. A detail starting with 'wasm' means the
   * wasm kernel was prepared; such kernels still run their JS path for a call whose views lie outside wasm memory
   * (the js backend's arenas, eager runs), which the detail says when it can happen. Optional: a kernel without
   * one profiles as its op type alone.
   */
  detail?: string;
  /**
   * Kernels that choose between wasm and JS per call count here the calls that took the JS path although the wasm
   * kernel was prepared (see ranOnWasm); profiles report it per node (StepProfile.jsFallbackCalls).
   */
  jsFallbacks?: JsFallbacks;
  /** Writes outputs from inputs. Omitted optional inputs arrive as undefined. */
  run(inputs: readonly (Data | undefined)[], outputs: readonly Data[], scratch: readonly Data[]): void;
}

/**
 * Thrown by prepare when an output shape depends on input values that are not known at plan time
 * (NonZero, Reshape with a computed shape, TopK with a runtime k). The planner then runs the graph eagerly.
 */
export class NeedsValuesError extends Error {
  constructor(readonly node: Node, readonly inputIndex: number) {
    super(`${nodeLabel(node)} needs the value of input ${inputIndex} at plan time`);
  }
}

/** The value of input `i` at prepare time, or throws NeedsValuesError so the planner falls back to eager. */
export function requireConstant(ctx: PrepareContext, i: number): TensorData {
  const c = ctx.constants[i];
  if (c === undefined) throw new NeedsValuesError(ctx.node, i);
  return c;
}

/** Type of input `i`, which must be present. */
export function requireInput(ctx: PrepareContext, i: number): TensorType {
  const t = ctx.inputs[i];
  if (t === undefined) throw new GraphError(`${nodeLabel(ctx.node)}: input ${i} is required`);
  return t;
}

/** A count of calls that fell back to JS (mutable: run() increments it, allocation-free). */
export interface JsFallbacks {
  calls: number;
}

export function jsFallbacks(): JsFallbacks {
  return { calls: 0 };
}

/**
 * Passes through whether a wasm kernel ran (false: a view was outside wasm memory), counting the refusals:
 * `if (wasm !== undefined && ranOnWasm(fallbacks, wasmKernel(...))) return;`.
 */
export function ranOnWasm(fallbacks: JsFallbacks, ran: boolean): boolean {
  if (!ran) fallbacks.calls++;
  return ran;
}

/** A profile detail with the activation fused into the kernel named after it ('wasm gemm 4x8 + relu'). */
export function withActivation(detail: string, act: { readonly kind: string }): string {
  return act.kind === 'none' ? detail : `${detail} + ${act.kind}`;
}

export function kernelError(ctx: PrepareContext, message: string): GraphError {
  return new GraphError(`${nodeLabel(ctx.node)}: ${message}`);
}
