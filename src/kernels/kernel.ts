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
  /** Force a convolution algorithm: 'auto' picks per layer. An alias of `variants: { Conv: … }`. */
  convAlgorithm?: 'auto' | 'reference' | 'im2col' | 'winograd' | 'direct';
  /**
   * Forces a variant per op type, by canonical name or a part of it (`{ Conv: 'reference', Add: 'js' }`): a family
   * with a variant table picks the first applicable variant whose name contains the string. See chooseVariant.
   */
  variants?: Readonly<Record<string, string>>;
  /**
   * Bytes a plan may spend beyond the model's weights (SessionOptions.memoryLimit minus the weights; may be
   * negative): the planner makes one MemoryBudget of it per plan, charges each step's arena footprint to it, and
   * variants are chosen by their memory cost against it (see chooseVariant).
   */
  memoryLimit?: number;
  /** The budget of the plan being made (set by the planner when memoryLimit is). */
  memoryBudget?: MemoryBudget;
  [key: string]: unknown;
}

/**
 * What a plan may still spend on memory: the weights kept in another form (packed panels, Winograd's transformed
 * filters), as a sum, and the arena, as its largest step so far (a step's inputs, outputs and scratch are live at
 * once; steps run one at a time). The planner charges every step; variants with a streaming form check their
 * whole-tensor scratch against it first.
 */
export class MemoryBudget {
  /** Bytes charged: kept weights plus the largest step. */
  used = 0;
  private arena = 0;

  constructor(readonly limit: number) {}

  get remaining(): number {
    return this.limit - this.used;
  }

  /** True when `bytes` more fit in what remains. */
  fits(bytes: number): boolean {
    return bytes <= this.remaining;
  }

  charge(bytes: number): void {
    this.used += bytes;
  }

  /** True when a step of `bytes` (inputs, outputs and scratch) fits: within the largest step so far, or its excess within what remains. */
  fitsStep(bytes: number): boolean {
    return bytes <= this.arena || bytes - this.arena <= this.remaining;
  }

  chargeStep(bytes: number): void {
    if (bytes <= this.arena) return;
    this.used += bytes - this.arena;
    this.arena = bytes;
  }
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
  /**
   * The canonical name of the variant that runs: `dtype_op_shape__isa`, e.g. 'f32_dwconv_5x5s2x1__wasmsimd',
   * 'f32_add_bcast__wasmsimd', 'f32_resize_linear__js'. The suffix after `__` says where it runs ('wasmsimd',
   * 'js', 'ref'). Kernels without one are named from their detail (see variantName).
   */
  variant?: string;
  /**
   * Where the inputs, outputs and scratch of this variant must live. 'wasm': the executor puts every float32 value
   * the step touches in wasm memory (the static plan's arena, or staging for eager runs); 'any' (default): anywhere.
   */
  placement?: Placement;
  /**
   * Why a JS variant is fine although wasm is available (shape arithmetic, integer bookkeeping, tiny tensors):
   * such steps do not count towards the JS share. Undefined for JS variants that are a missing wasm path.
   */
  jsOk?: string;
  /**
   * Inputs run() never reads: constants the kernel packed or transformed at prepare and reads only in its own
   * form (a Conv's W, a Gemm's B). The planner then places no copy of them in wasm memory for a 'wasm' step.
   */
  unreadInputs?: readonly number[];
  /** Writes outputs from inputs. Omitted optional inputs arrive as undefined. */
  run(inputs: readonly (Data | undefined)[], outputs: readonly Data[], scratch: readonly Data[]): void;
}

export type Placement = 'wasm' | 'any';

/** What a variant may rely on besides the node itself. */
export interface Capabilities {
  /** The wasm SIMD context, when the wasm backend is active. */
  readonly wasm?: WasmContext;
}

/**
 * One entry of a family's variant table (reference first): a canonical name, when it applies, where its values
 * must live, and how to prepare it. Prepare picks one variant per node with chooseVariant; run() runs only it.
 */
export interface VariantDef<P> {
  /** Canonical name, `dtype_op_shape__isa`, or a function of the problem for shape-specific names. */
  readonly name: string | ((problem: P) => string);
  readonly applies: (problem: P, caps: Capabilities) => boolean;
  readonly placement: Placement;
  readonly prepare: (problem: P, ctx: PrepareContext) => PreparedKernel;
  /**
   * Bytes the variant keeps for the session beyond the model's weights (its packed or transformed copy of them).
   * Variants that declare it take part in the memory budget (SessionOptions.memoryLimit): see chooseVariant.
   */
  readonly memory?: (problem: P, caps: Capabilities) => number;
}

/**
 * Picks the variant of `table` for this problem: the one the user forced for the op type (options.variants, by
 * name substring) when it applies, else the last applicable one (tables are ordered reference first, fastest
 * last). The prepared kernel carries the variant's name and placement.
 *
 * Under a memory budget (options.memoryBudget), a pick whose declared memory cost does not fit what remains gives
 * way to the fastest applicable variant with a declared cost that fits, or when none fits to the one with the
 * least cost (Winograd's 4× filters give way to im2col's packed copy; the reference, which declares no cost, is
 * never picked for memory). The chosen variant's cost is charged to the budget.
 */
export function chooseVariant<P>(table: readonly VariantDef<P>[], problem: P, ctx: PrepareContext): PreparedKernel {
  const caps: Capabilities = { wasm: ctx.options.wasm };
  const nameOf = (v: VariantDef<P>): string => (typeof v.name === 'string' ? v.name : v.name(problem));
  const forced = ctx.options.variants?.[ctx.node.opType];
  const applicable = table.filter((v) => v.applies(problem, caps));
  let chosen = applicable[applicable.length - 1];
  if (forced !== undefined) {
    const wanted = forced === 'reference' ? table[0] : applicable.find((v) => nameOf(v).includes(forced));
    if (wanted === undefined || !applicable.includes(wanted)) {
      throw kernelError(ctx, `variant '${forced}' forced for ${ctx.node.opType} does not apply here; applicable: ${applicable.map(nameOf).join(', ')}`);
    }
    chosen = wanted;
  }
  if (chosen === undefined) throw kernelError(ctx, 'no variant applies');
  const budget = ctx.options.memoryBudget;
  if (budget !== undefined && forced === undefined) chosen = withinBudget(applicable, chosen, problem, caps, budget);
  const prepared = chosen.prepare(problem, ctx);
  if (budget !== undefined) budget.charge(chosen.memory?.(problem, caps) ?? 0);
  prepared.variant ??= nameOf(chosen);
  prepared.placement ??= chosen.placement;
  return prepared;
}

/** The default pick, or a cheaper variant when its cost does not fit the budget (see chooseVariant). */
function withinBudget<P>(applicable: readonly VariantDef<P>[], pick: VariantDef<P>, problem: P, caps: Capabilities, budget: MemoryBudget): VariantDef<P> {
  const cost = pick.memory?.(problem, caps);
  if (cost === undefined || budget.fits(cost)) return pick;
  let cheapest = pick;
  let least = cost;
  for (let i = applicable.length - 1; i >= 0; i--) {
    const v = applicable[i]!;
    const c = v === pick ? cost : v.memory?.(problem, caps);
    if (c === undefined) continue;
    if (budget.fits(c)) return v;
    if (c < least) {
      cheapest = v;
      least = c;
    }
  }
  return cheapest;
}

/**
 * The variant name a profile shows for a prepared kernel: its own, else one made from its detail and op type
 * ('wasm …' details run on wasm; anything else runs in JS).
 */
export function variantName(kernel: PreparedKernel, opType: string): string {
  if (kernel.variant !== undefined) return kernel.variant;
  const dtype = kernel.outputs[0]?.dtype ?? '';
  const prefix = dtype === 'float32' ? 'f32' : dtype === 'float16' ? 'f16' : dtype;
  const isa = kernel.detail?.startsWith('wasm') ? 'wasmsimd' : 'js';
  return `${prefix ? prefix + '_' : ''}${opType.toLowerCase()}__${isa}`;
}

/**
 * jsOk for data-movement kernels whose every copy is a block of at least MIN_BLOCK_COPY elements moved by
 * TypedArray.set (memcpy speed in V8: a wasm loop would not be faster).
 */
export const BLOCK_COPY_OK = 'block copies (TypedArray.set)';
export const MIN_BLOCK_COPY = 16;

/** BLOCK_COPY_OK when the smallest block copied has at least MIN_BLOCK_COPY elements. */
export function blockCopyOk(smallestBlock: number): string | undefined {
  return smallestBlock >= MIN_BLOCK_COPY ? BLOCK_COPY_OK : undefined;
}

/** True when the variant runs in JS (its name ends in '__js' or '__ref'). */
export function isJsVariant(name: string): boolean {
  return name.endsWith('__js') || name.endsWith('__ref');
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

/**
 * A wasm variant as its reference with another `run`: `onWasm` runs the wasm kernel and returns true, or returns
 * false (a view outside wasm memory: an eager plan, a caller's array) and the reference runs instead, counted in
 * jsFallbacks. The variants' one way to fall back, so none does it silently.
 */
export function onWasmOrReference(
  reference: PreparedKernel, detail: string,
  onWasm: (inputs: readonly (Data | undefined)[], outputs: readonly Data[], scratch: readonly Data[]) => boolean,
): PreparedKernel {
  const fallbacks = jsFallbacks();
  return {
    ...reference,
    detail,
    jsFallbacks: fallbacks,
    run(inputs, outputs, scratch) {
      if (!ranOnWasm(fallbacks, onWasm(inputs, outputs, scratch))) reference.run(inputs, outputs, scratch);
    },
  };
}

/**
 * True when every view given (undefined ones skipped) lies in the context's memory, so a wasm kernel can address
 * it by byte offset: the test before a wasm variant's call, whose false sends the call to onWasmOrReference's
 * reference. A fixed arity, so run() allocates nothing.
 */
export function viewsInWasm(
  wasm: WasmContext, a: ArrayBufferView | undefined, b?: ArrayBufferView, c?: ArrayBufferView, d?: ArrayBufferView,
): boolean {
  const buffer = wasm.memory.buffer;
  return (a === undefined || a.buffer === buffer) && (b === undefined || b.buffer === buffer) &&
    (c === undefined || c.buffer === buffer) && (d === undefined || d.buffer === buffer);
}

/** A profile detail with the activation fused into the kernel named after it ('wasm gemm 4x8 + relu'). */
export function withActivation(detail: string, act: { readonly kind: string }): string {
  return act.kind === 'none' ? detail : `${detail} + ${act.kind}`;
}

export function kernelError(ctx: PrepareContext, message: string): GraphError {
  return new GraphError(`${nodeLabel(ctx.node)}: ${message}`);
}
