import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/**/*.test.ts',
      'simulator/**/*.test.ts',
      'workflows/**/*.test.ts',
      'activities/**/*.test.ts',
      'client/**/*.test.ts',
    ],
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/quiet-runtime.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
