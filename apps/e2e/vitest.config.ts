import { sluiceVitestConfig } from '../../vitest.shared.js';

// End-to-end tests start many processes: one file at a time, generous timeouts.
export default sluiceVitestConfig({ testTimeout: 120_000, serial: true });
