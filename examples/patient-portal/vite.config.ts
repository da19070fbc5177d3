import { defineConfig } from 'vite'
import { portalDev } from './src/dev-plugin.ts'

export default defineConfig({
  plugins: [portalDev()],
  // Loopback only: the dev server forwards to the devnet's store, which must not be reachable from elsewhere.
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: {
    // The Umbral WebAssembly backend is embedded and loaded by a top-level await: browsers from es2022 on.
    target: 'es2022',
  },
})
