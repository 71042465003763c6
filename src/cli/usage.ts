/** The command line's help texts: `tinfer --help` and `tinfer <command> --help`. */
import { QUANTIZE_USAGE } from './quantize.js';
import { CONVERT_USAGE } from './convert.js';

export const USAGE = `usage: tinfer <command> [options]      (tinfer <command> --help for its options)

  inspect MODEL.onnx      opset, inputs/outputs, op counts, parameters, planned arena
  run MODEL.onnx          run once (random inputs where none are given) and print the outputs
  test DIR...             run ONNX test folders (model.onnx + test_data_set_*), compare outputs
  bench [MODEL.onnx...]   load time, first run, median/min/max per model (built-in models without a path)
  quantize MODEL.onnx     INT8 post-training quantization; prints size and accuracy vs fp32
  convert --fp16 IN OUT   float16 weights with float32 inputs/outputs; prints size, cosine and speed

  --version               print the version
`;

const SHAPE = `  --shape name=d0,d1,...   sizes for an input (required to fix symbolic dims; without it they are 1, with a
                           warning on stderr)`;

export const COMMAND_USAGE: Record<string, string> = {
  inspect: `usage: tinfer inspect MODEL.onnx [--shape name=d0,d1,...]

  Prints the opset, inputs and outputs, op counts (subgraph nodes included), parameters (initializers and
  Constant tensors), and the memory plan for one run on random inputs.
${SHAPE}
`,
  run: `usage: tinfer run MODEL.onnx [--input name=VALUE ...] [--shape name=d0,d1,...] [--backend auto|wasm|js]
                 [--memory-limit BYTES]

  Runs once and prints the input shapes used and each output (type, dims, first values).
  --input name=VALUE       a file (.npy or .pb TensorProto), or literal values: sr=16000, x=1,2,3, mask=true
                           (literals take the input's type; their dims are the input's when the count matches)
${SHAPE}
  --backend auto|wasm|js   kernels to use (default auto)
  --memory-limit BYTES     memory budget (e.g. 120M): leaner kernel variants once the fast ones would exceed it
`,
  test: `usage: tinfer test DIR... [--rtol R] [--atol A] [--backend auto|wasm|js]

  Runs ONNX test folders (model.onnx + test_data_set_N/{input,output}_K.pb). An output passes when every
  element has |got - expected| <= atol + rtol * |expected|; each line shows the worst element against that bound.
  --rtol R                 relative tolerance (default 1e-3)
  --atol A                 absolute tolerance (default 1e-5)
  --backend auto|wasm|js   kernels to use (default auto)
`,
  bench: `usage: tinfer bench [MODEL.onnx ... | --builtin] [options]

  One row per model as it finishes: parameters, MACs (Conv, ConvTranspose, Gemm, MatMul), arena, load time,
  first run, and median/min/max over the timed runs. Without a model path, the built-in architectures.
  --iterations N           timed runs per model (default 10, at least 1)
  --warmup N               untimed runs before them (default 2)
  --min-ms MS              keep running until this much time has passed (at most 1000 runs)
${SHAPE}
  --backend auto|wasm|js   kernels to use (default auto)
  --threads N              intra-op threads, the calling thread included (default 1)
  --profile [--top N]      per-op-type times and the N slowest nodes (default 15) with how each ran
`,
  quantize: QUANTIZE_USAGE,
  convert: CONVERT_USAGE,
};
