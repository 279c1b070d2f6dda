#!/usr/bin/env node
// Fails when the TypeScript sources import each other in a circle: within a package (relative imports, `import type`
// included) or across packages (an `@sluice/x` import counts as an import of that package's src/index.ts). Prints every
// circle found. Run by `npm test`; `node tools/check-import-cycles.mjs --help` for usage.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--help')) {
  console.log('Usage: node tools/check-import-cycles.mjs\nChecks apps/*/src and libs/*/src for import circles; exits 1 and lists them if any.');
  process.exit(0);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = new Map();
for (const group of ['apps', 'libs']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    packages.set(JSON.parse(readFileSync(manifest, 'utf8')).name, dir);
  }
}

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'node_modules' && entry !== 'dist' && entry !== 'generated') out.push(...sources(path));
    } else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/g;
const graph = new Map();
for (const dir of packages.values()) {
  const src = join(dir, 'src');
  if (!existsSync(src)) continue;
  for (const file of sources(src)) {
    const edges = [];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(target)) edges.push(target);
      } else if (packages.has(spec)) {
        const index = join(packages.get(spec), 'src', 'index.ts');
        if (existsSync(index)) edges.push(index);
      }
    }
    graph.set(file, edges);
  }
}

// Tarjan's strongly connected components: each component of more than one file (or a file importing itself) is a circle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const circles = [];
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component);
  }
}
for (const v of graph.keys()) if (!index.has(v)) visit(v);

if (circles.length === 0) {
  console.log(`no import circles in ${graph.size} source files`);
} else {
  console.error(`${circles.length} import circle(s):`);
  for (const c of circles) console.error(`  ${c.map((f) => relative(root, f)).sort().join('\n    ')}\n`);
  process.exit(1);
}
