#!/usr/bin/env node
// Image classification with tinfer:
//   node examples/classify/classify.mjs [image.ppm|image.bmp] [--model model.onnx]
// Reads a PPM (P6) or 24/32-bit BMP, resizes it (bilinear) to the model's input size (224x224 by default),
// normalises with the ImageNet mean/std and prints the top-5 classes with softmax scores. Without --model it uses a
// small built-in CNN with random weights; without an image it writes and uses the sample picture (make-sample.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { InferenceSession, Tensor } from '../../dist/index.js';
import { builtinCnnBytes } from './builtin-cnn.mjs';
import { decodeImage, preprocess, softmax, topK } from './image.mjs';
import { DEFAULT_SAMPLE, writeSample } from './make-sample.mjs';

function parseArgs(argv) {
  const args = { image: undefined, model: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--model') args.model = argv[++i];
    else if (argv[i] === '-h' || argv[i] === '--help') args.help = true;
    else args.image = argv[i];
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log('usage: node examples/classify/classify.mjs [image.ppm|image.bmp] [--model model.onnx]');
  process.exit(0);
}
let imagePath = args.image;
if (!imagePath) {
  imagePath = existsSync(DEFAULT_SAMPLE) ? DEFAULT_SAMPLE : writeSample();
  console.log(`image: ${imagePath} (generated sample)`);
} else {
  console.log(`image: ${imagePath}`);
}

let session;
if (args.model) {
  session = await InferenceSession.create(args.model);
  console.log(`model: ${args.model}`);
} else {
  session = await InferenceSession.create(builtinCnnBytes());
  console.log('model: built-in small CNN with RANDOM weights (classes are meaningless; pass --model for a real one)');
}

// Input size from the model's declared dims when they are numbers ([N, 3, H, W]), else 224.
const dims = session.inputMetadata[0].dims ?? [];
const size = typeof dims[2] === 'number' ? dims[2] : 224;
const image = decodeImage(new Uint8Array(readFileSync(imagePath)));
const input = new Tensor('float32', preprocess(image, size), [1, 3, size, size]);

const t0 = performance.now();
const outputs = await session.run({ [session.inputNames[0]]: input });
const ms = performance.now() - t0;
const logits = outputs[session.outputNames[0]].data;
const top = topK(softmax(logits), 5);
console.log(`${image.width}x${image.height} -> ${size}x${size}, ${logits.length} classes, ${ms.toFixed(1)} ms`);
console.log('top-5:');
for (const { index, score } of top) console.log(`  class ${String(index).padStart(4)}  ${score.toFixed(4)}`);
