// The one Vitest configuration every project uses: workspace packages resolve to their TypeScript sources.
import { defaultServerConditions } from 'vite';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

// 'development' points workspace packages at src/index.ts (see each package.json's exports).
const conditions = ['development', ...defaultServerConditions];

export interface SluiceVitestOptions {
  /** Per-test timeout in milliseconds (integration tests need more than the default). */
  testTimeout?: number;
  /** Run test files one at a time (tests that start many processes). */
  serial?: boolean;
  /** Unhandled errors to ignore (a client library's known bug); every other one fails the run. */
  ignoreUnhandled?: (error: Error & Record<string, unknown>) => boolean;
}

export function sluiceVitestConfig(options: SluiceVitestOptions = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: options.testTimeout ?? 30_000,
      fileParallelism: !options.serial,
      reporters: ['default'],
      ...(options.ignoreUnhandled ? { onUnhandledError: (error: unknown) => !options.ignoreUnhandled?.(error as Error & Record<string, unknown>) } : {}),
    },
  });
}
