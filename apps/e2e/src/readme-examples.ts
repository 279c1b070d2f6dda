// The README's runnable examples: shell blocks marked `<!-- readme-test -->`, split into commands, each with the
// sample output the README shows for it (comment lines `# → ...` after the command, or a trailing `# → ...`).
import { spawn } from 'node:child_process';

export interface ReadmeCommand {
  /** The command as written (continuation lines joined), run by bash. */
  command: string;
  /** Line of the README where it starts (1-based). */
  line: number;
  /** The sample output lines shown for it, `...` standing for any text; empty: not compared. */
  expected: string[];
}

export interface ReadmeBlock {
  /** The heading the block sits under. */
  section: string;
  line: number;
  commands: ReadmeCommand[];
}

export const RUN_MARKER = '<!-- readme-test -->';
const SKIP_MARKER = /^<!-- readme-test: skip\b.*-->$/;
const OUTPUT = '# → ';

/** The marked blocks, and the unmarked shell blocks that call Sluice (kcat, curl, npx sluice) without a skip marker. */
export function readmeBlocks(markdown: string): { blocks: ReadmeBlock[]; unmarked: Array<{ section: string; line: number }> } {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  const unmarked: Array<{ section: string; line: number }> = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('#')) section = lines[i].replace(/^#+\s*/, '');
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i])) continue;
    const end = lines.indexOf('```', i + 1);
    const body = lines.slice(i + 1, end);
    const marker = lines[i - 1]?.trim() ?? '';
    if (marker === RUN_MARKER) blocks.push({ section, line: i + 1, commands: commandsOf(body, i + 2) });
    else if (!SKIP_MARKER.test(marker) && body.some((l) => /\b(kcat|curl|npx sluice)\b/.test(l))) unmarked.push({ section, line: i + 1 });
    i = end;
  }
  return { blocks, unmarked };
}

function commandsOf(body: string[], firstLine: number): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (let i = 0; i < body.length; i++) {
    const text = body[i].trim();
    if (text.startsWith(OUTPUT)) {
      const last = commands.at(-1);
      if (!last) throw new Error(`README line ${firstLine + i}: sample output before any command`);
      last.expected.push(text.slice(OUTPUT.length));
      continue;
    }
    if (text === '' || text.startsWith('#')) continue;
    const start = i;
    let command = body[i];
    while (command.endsWith('\\') && i + 1 < body.length) command += '\n' + body[++i];
    const inline = command.indexOf(` ${OUTPUT}`);
    const expected = inline >= 0 ? [command.slice(inline + OUTPUT.length + 1).trim()] : [];
    commands.push({ command: inline >= 0 ? command.slice(0, inline).trimEnd() : command.trim(), line: firstLine + start, expected });
  }
  return commands;
}

/** Whether `actual` (stdout) shows the sample `expected` lines: the same number of lines, each matched in any order. */
export function matchesSample(actual: string, expected: string[]): boolean {
  const lines = actual.split('\n').filter((l) => l !== '');
  if (lines.length !== expected.length) return false;
  const patterns = expected.map((e) => new RegExp(`^${e.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const used = new Set<number>();
  return patterns.every((p) => {
    const at = lines.findIndex((l, i) => !used.has(i) && p.test(l));
    if (at >= 0) used.add(at);
    return at >= 0;
  });
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command with bash (pipefail), as a user's shell would. */
export function runCommand(command: string, options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
