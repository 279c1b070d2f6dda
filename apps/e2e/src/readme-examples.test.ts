// Every README example works as written: the marked shell blocks (kcat, curl and `npx sluice` sessions) run in README
// order, each command through bash from the repository root, against a fresh `sluice dev` (what `npm start` runs).
// The examples say localhost:9092 and localhost:8080; the test's instance listens on free ports, so those addresses
// are rewritten to it (and SLUICE_URL points the CLI there). Each command must exit 0 and, where the README shows
// sample output, print it (`...` matching anything; lines in any order, as records of several partitions interleave).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { matchesSample, readmeBlocks, runCommand, RUN_MARKER } from './readme-examples.js';

const readme = readFileSync(join(workspaceRoot, 'README.md'), 'utf8');
const { blocks, unmarked } = readmeBlocks(readme);
let sluice: EmbeddedSluice;

beforeAll(async () => {
  sluice = await startEmbedded();
}, 120_000);

afterAll(async () => {
  await sluice?.stop();
});

describe('README examples', () => {
  it(`marks every shell block that calls Sluice with ${RUN_MARKER} (or a skip marker giving the reason)`, () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(unmarked).toEqual([]);
    // The sample outputs are read (so a wrong one fails the run below).
    expect(blocks.flatMap((b) => b.commands).filter((c) => c.expected.length > 0).length).toBeGreaterThanOrEqual(6);
  });

  it('compares output with a sample: same lines in any order, ... for any text', () => {
    expect(matchesSample('1/0 b\n2/0 a\n', ['2/0 a', '1/0 b'])).toBe(true);
    expect(matchesSample('{"t":17,"k":"x"}\n', ['{"t":...,"k":"x"}'])).toBe(true);
    expect(matchesSample('2/0 a\n', ['1/0 a'])).toBe(false);
    expect(matchesSample('2/0 a\n2/1 b\n', ['2/0 a'])).toBe(false);
    expect(matchesSample('2/0 a\n', ['2/0 a', '2/0 a'])).toBe(false);
    const { blocks: parsed } = readmeBlocks(['## S', RUN_MARKER, '```sh', '# prose', 'a \\', '  b   # → x', 'c', '# → y', '# → z', '```'].join('\n'));
    expect(parsed).toEqual([
      {
        section: 'S',
        line: 3,
        commands: [
          { command: 'a \\\n  b', line: 5, expected: ['x'] },
          { command: 'c', line: 7, expected: ['y', 'z'] },
        ],
      },
    ]);
  });

  for (const block of blocks) {
    it(`runs "${block.section}" (README line ${block.line}) as written`, async () => {
      const http = new URL(sluice.httpUrl).host;
      for (const c of block.commands) {
        const command = c.command.replaceAll('localhost:9092', sluice.kafkaBootstrap).replaceAll('localhost:8080', http);
        const r = await runCommand(command, { cwd: workspaceRoot, env: { SLUICE_URL: sluice.httpUrl }, timeoutMs: 60_000 });
        const where = `README line ${c.line}: ${c.command}\nexit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
        expect(r.code, where).toBe(0);
        if (c.expected.length > 0) expect(matchesSample(r.stdout, c.expected), `${where}\nexpected (sample output in the README):\n${c.expected.join('\n')}`).toBe(true);
      }
    }, 300_000);
  }
});
