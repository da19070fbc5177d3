#!/usr/bin/env node
/**
 * The `medvault` executable: the whole program is `runCli` in `cli.ts`.
 *
 * @module
 */
import { runCli } from './cli.ts'

const code = await runCli(process.argv.slice(2))
process.exitCode = code
// Everything is closed by now; a library handle left open must not keep a finished command alive.
setTimeout(() => process.exit(code), 1000).unref()
