import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          // Compiles dist/ once (when stale) for the files that run the compiled CLI or `npm start`.
          globalSetup: ['test/support/buildOnce.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file starts its own nats-server; two cores, so keep it to two files at a time.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
})
