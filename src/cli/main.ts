#!/usr/bin/env node
/** tinfer command line: inspect | run | test | bench | quantize | convert. */
import { OptionError, TinferError } from '../errors.js';
import { VERSION } from '../version.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';
import { quantizeCommand } from './quantize.js';
import { runCommand } from './run.js';
import { testCommand } from './test.js';
import { COMMAND_USAGE, USAGE } from './usage.js';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  inspect: inspectCommand,
  run: runCommand,
  test: testCommand,
  bench: benchCommand,
  quantize: quantizeCommand,
  convert: convertCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`tinfer ${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(topic && COMMAND_USAGE[topic] ? COMMAND_USAGE[topic] : USAGE);
    return command === undefined ? 1 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`tinfer: unknown command '${command}'; commands: ${Object.keys(COMMANDS).join(', ')}\n${USAGE}`);
    return 2;
  }
  // `tinfer <command> --help`: that command's own options.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(COMMAND_USAGE[command]!);
    return 0;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Bad input (a model, a feed, an option, a file) is one line; anything else is a bug, reported with its stack.
    if (e instanceof TinferError) {
      process.stderr.write(`tinfer: ${e.name}: ${e.message}\n`);
      process.exitCode = e instanceof OptionError ? 2 : 1;
    } else {
      process.stderr.write(`tinfer: internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
