import type { WasmContext, WasmGemmDriver, WasmGemmKernels, WasmMicrokernel, WasmModuleSpec } from '../../wasm/context.js';
import { addGemmKernels, microkernelName, packedADriverName, packedBDriverName, type SimdVariant } from '../../wasm/gemm-kernels.js';
import type { WasmPackedWeights } from '../../wasm/gemm.js';

/**
 * Products with one or two rows against packed weights (a classifier's Linear at batch 1, a decoder step): the
 * default 4×8 tile would compute four rows for every one kept, so these use a 1×8 or 2×8 tile over the very same
 * panels (the panel layout depends only on NR = 8). Each tile is its own small module, made on first use.
 */
export function fewRowsModule(mr: 1 | 2): WasmModuleSpec<WasmGemmKernels> {
  const tile = { mr, nr: 8 };
  return {
    key: `f32_gemm_${mr}x8`,
    build(m, relaxed) {
      addGemmKernels(m, [tile], [relaxed ? 'wasmrelaxedsimd' : 'wasmsimd']);
    },
    bind(e) {
      const variant: SimdVariant = microkernelName(tile, 'wasmrelaxedsimd') in e ? 'wasmrelaxedsimd' : 'wasmsimd';
      return {
        name: `${mr}x8__${variant}`, mr, nr: 8, variant,
        micro: e[microkernelName(tile, variant)] as WasmMicrokernel,
        packedB: e[packedBDriverName(tile, variant)] as WasmGemmDriver,
        packedA: e[packedADriverName(tile, variant)] as WasmGemmDriver,
      };
    },
  };
}

/**
 * `w` (packed B, uploaded for the default tile) driven by a 1×8 or 2×8 tile when op(A) has that many rows;
 * `w` itself otherwise (or when the engine refuses the module).
 */
export function weightsForRows(ctx: WasmContext, w: WasmPackedWeights, rows: number): WasmPackedWeights {
  if (w.side !== 'B' || w.kernels.nr !== 8 || (rows !== 1 && rows !== 2) || w.kernels.mr <= rows) return w;
  const kernels = ctx.use(fewRowsModule(rows));
  return kernels === undefined ? w : { ...w, kernels };
}
