#!/usr/bin/env node
// The `sluice` bin (node_modules/.bin/sluice after `npm ci`): runs the build output, which `npm start` or
// `npx nx run @sluice/cli:build` makes. This file exists before any build so that npm links the bin on a fresh clone.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('sluice is not built yet: run `npm start` once, or `npx nx run @sluice/cli:build`\n');
  process.exit(2);
}
await import(main.href);
