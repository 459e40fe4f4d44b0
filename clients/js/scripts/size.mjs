// The package's size as a browser downloads it: src/index.js minified (esbuild, a devDependency) and gzipped.
// usage: npm run size
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const source = readFileSync(new URL('../src/index.js', import.meta.url));
const out = await build({
  entryPoints: [new URL('../src/index.js', import.meta.url).pathname],
  bundle: true, minify: true, format: 'esm', write: false, target: 'es2020',
});
const minified = out.outputFiles[0].contents;
console.log(JSON.stringify({
  sourceBytes: source.length,
  minifiedBytes: minified.length,
  minifiedGzipBytes: gzipSync(minified, { level: 9 }).length,
  esbuild: (await import('esbuild')).version,
}));
