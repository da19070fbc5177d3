/**
 * @packageDocumentation
 *
 * The `medvault` command line. `runCli(argv)` runs it in-process and resolves to the exit code.
 */
export { buildProgram, runCli } from './cli.ts'
export { ExitCode } from './errors.ts'
export { type NetworkFile, readNetworkFile } from './network.ts'
