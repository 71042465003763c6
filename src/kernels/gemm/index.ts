export { sgemm, sgemmWithTiles, stridedTileSet, SGEMM_TILE, SGEMM_KC, type StridedTileSet } from './sgemm.js';
export {
  packA, packB, packPanels, packedGemmScratchLength, gemmPackedA, gemmPackedB,
  GEMM_TILE, GEMM_KC, GEMM_MC, GEMM_NC, type PackedWeights, type PackOptions, type BiasSource,
} from './packed.js';
export { applyActivation, NO_ACTIVATION, type Activation, type ActivationKind } from './activation.js';
export {
  PACKED_MICROKERNELS, STRIDED_MICROKERNELS, type MicrokernelEntry, type PackedMicrokernel, type PackedTile,
  type StridedMicrokernel,
} from './microkernels.js';
