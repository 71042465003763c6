#!/usr/bin/env node
// Serves the browser example:  node examples/browser/serve.mjs [--model model.onnx] [--port 8080]
// Static files from the repository root (the page imports /dist/index.js, so run npm run build first), plus
//   /model.onnx   the --model file, or the built-in random-weight CNN of examples/classify
//   /sample.ppm   the generated sample picture
// Listens on 127.0.0.1 only and prints the URL.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinCnnBytes } from '../classify/builtin-cnn.mjs';
import { encodePPM, sampleImage } from '../classify/sample-image.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.json': 'application/json' };

const argv = process.argv.slice(2);
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const modelPath = option('--model');
const port = Number(option('--port') ?? 8080);

const model = modelPath ? readFileSync(modelPath) : builtinCnnBytes();
const sample = encodePPM(sampleImage());

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  const send = (body, type) => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (path === '/') {
    res.writeHead(302, { location: '/examples/browser/index.html' }).end();
  } else if (path === '/model.onnx') {
    send(model, 'application/octet-stream');
  } else if (path === '/sample.ppm') {
    send(sample, 'image/x-portable-pixmap');
  } else {
    const file = normalize(join(ROOT, path));
    if (!file.startsWith(ROOT + '/') || !existsSync(file) || !/\.(html|js|mjs|map|json)$/.test(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    send(readFileSync(file), MIME[extname(file)]);
  }
});
server.listen(port, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/`;
  console.log(`tinfer browser example: ${url}  (model: ${modelPath ?? 'built-in random-weight CNN'}; Ctrl-C to stop)`);
});
