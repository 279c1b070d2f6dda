import { sluiceVitestConfig } from '../../vitest.shared.js';

// One bounded fuzzing run against a real process: one file at a time, a generous timeout.
export default sluiceVitestConfig({ testTimeout: 240_000, serial: true });
