// What a clean start must not print: warnings or errors, stack traces, Node or library warnings on stderr.
import type { LogLine } from '@sluice/testing';

const NOISE = [/"level":"(warn|error|fatal)"/, /"stack":/, /\n\s+at /, /^\(node:\d+\)/, /Deprecation|Warning:|strict mode/];

/** The lines of a process's output that a clean start should not have printed. */
export function noisyLines(lines: readonly LogLine[]): string[] {
  return lines.map((l) => l.raw).filter((raw) => NOISE.some((re) => re.test(raw)));
}
