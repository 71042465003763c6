#!/usr/bin/env node
/** tinfer command line: inspect | run | test | bench | quantize. */
import { TinferError } from '../errors.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';
import { quantizeCommand } from './quantize.js';
import { runCommand } from './run.js';
import { testCommand } from './test.js';

const USAGE = `usage: tinfer <command> [options]

  inspect MODEL.onnx                 opset, inputs/outputs, op counts, parameters, planned arena
  run MODEL.onnx [--input name=file.pb ...] [--shape name=1,3,224,224 ...]
                                     run once (random inputs where none are given) and print outputs
  test DIR... [--rtol R] [--atol A]  run ONNX test folders (model.onnx + test_data_set_*), compare outputs
  bench [MODEL.onnx | --builtin] [--iterations N] [--warmup N] [--shape name=dims] [--backend auto|wasm|js]
        [--profile [--top N]]        load time, first run, median/min/max over iterations; --profile adds
                                     per-op-type times and the slowest nodes with how each ran
  quantize MODEL.onnx --out OUT.onnx (--calib DIR | --generate N [--seed S]) [--per-channel]
           [--method minmax|percentile|entropy|mse] [--percentile P] [--format qdq|qoperator]
           [--activation-type uint8|int8] [--gptq] [--empirical-bias] [--no-bias-correction]
           [--mixed-precision COSINE [--max-float N]] [--eval DIR | --eval-generate N]
                                     INT8 post-training quantization; prints size and accuracy vs fp32
                                     (tinfer quantize --help for the details)
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `tinfer <command> --help` prints the usage (quantize has its own, longer help).
  if (command !== 'quantize' && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'inspect':
      return inspectCommand(rest);
    case 'run':
      return runCommand(rest);
    case 'test':
      return testCommand(rest);
    case 'bench':
      return benchCommand(rest);
    case 'quantize':
      return quantizeCommand(rest);
    case 'convert': // tinfer convert --fp16 IN.onnx OUT.onnx (src/cli/convert.ts)
      return convertCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`tinfer: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof TinferError) process.stderr.write(`tinfer: ${e.name}: ${e.message}\n`);
    else process.stderr.write(`tinfer: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
