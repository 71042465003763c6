#!/usr/bin/env node
// Writes the sample picture for classify.mjs: node examples/classify/make-sample.mjs [out.ppm | out.bmp]
// (default examples/classify/sample.ppm; a .bmp name writes a 24-bit BMP).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBMP, encodePPM, sampleImage } from './sample-image.mjs';

export const DEFAULT_SAMPLE = join(dirname(fileURLToPath(import.meta.url)), 'sample.ppm');

export function writeSample(path = DEFAULT_SAMPLE) {
  const image = sampleImage();
  writeFileSync(path, path.toLowerCase().endsWith('.bmp') ? encodeBMP(image) : encodePPM(image));
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`wrote ${writeSample(process.argv[2])}`);
