// Lint for every project: TypeScript rules plus Nx module boundaries (the dependency table in docs/architecture.md).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// The dependency table (docs/architecture.md in this repo): which tags each tag may import.
const allowed = {
  'scope:protocol': [],
  'scope:storage': ['scope:protocol'],
  'scope:bus': ['scope:protocol'],
  'scope:contracts': ['scope:protocol', 'scope:bus'],
  'scope:metadata': ['scope:protocol', 'scope:bus', 'scope:contracts'],
  'scope:runtime': ['scope:protocol', 'scope:bus', 'scope:contracts'],
  'scope:database': [],
  'scope:http-client': [],
  'type:ui': ['scope:http-client'],
  'type:service': ['scope:protocol', 'scope:storage', 'scope:bus', 'scope:contracts', 'scope:metadata', 'scope:runtime', 'scope:database'],
  'type:app': ['type:service', 'scope:protocol', 'scope:bus', 'scope:contracts', 'scope:metadata', 'scope:runtime', 'scope:http-client'],
  'scope:testing': [],
  'type:e2e': ['*'],
};

/** Tests may also use the test harness. */
const boundaries = (extra) => [
  'error',
  {
    enforceBuildableLibDependency: true,
    allow: [],
    depConstraints: Object.entries(allowed).map(([sourceTag, tags]) => ({
      sourceTag,
      onlyDependOnLibsWithTags: tags.includes('*') ? ['*'] : [...tags, ...extra],
    })),
  },
];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/generated/**', '**/out-tsc/**', '**/.nx/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries([]),
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use an `as const` object instead of an enum.' }],
    },
  },
  {
    files: ['libs/protocol/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:net', 'node:fs', 'node:fs/*', 'fs', 'net', '@nats-io/*', 'fastify'], message: 'libs/protocol does no I/O.' }] },
      ],
    },
  },
  {
    files: ['libs/storage/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@nats-io/*'], message: 'storage knows nothing of NATS.' }] }],
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['scope:testing']), '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  // Every project's vitest.config.ts imports the one shared config at the workspace root.
  { files: ['**/vitest.config.ts'], rules: { '@nx/enforce-module-boundaries': 'off' } },
];
