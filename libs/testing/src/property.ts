// Limits for fast-check properties whose runs do I/O (files, processes). fast-check prints the seed and path that
// replay a failure, but only if it gets to finish: when a run hangs, or shrinking a slow counterexample outlasts the
// Vitest timeout, Vitest kills the test and the report (seed included) is lost. With these limits a hung run fails
// after `timeout`, and the whole property — shrinking included — stops after `interruptAfterTimeLimit`, well inside
// PROPERTY_TEST_TIMEOUT_MS, so the report always comes out. On a machine so slow that the time limit cuts the runs
// short before any failure, the property passes with fewer runs rather than timing out.

/** The Vitest timeout for a test running a property with `ioPropertyLimits`. */
export const PROPERTY_TEST_TIMEOUT_MS = 120_000;

/** fast-check parameters (timeout, interruptAfterTimeLimit) that let the report out before the Vitest timeout. */
export const ioPropertyLimits = { timeout: 20_000, interruptAfterTimeLimit: 90_000 } as const;
