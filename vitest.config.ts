import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real nodes, real chains, real crypto: give integration tests room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
