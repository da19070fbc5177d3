// @ts-check
/**
 * TypeDoc options for the API reference of every published @medvault package.
 *
 * The entry points are read from each package's `exports` map, so the reference documents exactly what an
 * installed package lets an app import: each subpath's `types` file (`./dist/x.d.ts`) maps back to the
 * source it is built from (`src/x.ts`), whose doc comments TypeDoc reads. A new subpath is documented
 * without touching this file; a private package (an example, this one) is skipped.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const packagesDir = join(here, '../../packages')

/** @type {Record<string, string>} source file (relative to this folder) → module name shown in the reference */
export const entryPointNames = {}
/** @type {Record<string, string[]>} import specifier → its source, so links across packages meet one symbol */
const paths = {}
for (const dir of readdirSync(packagesDir).sort()) {
  const manifest = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'))
  if (manifest.private) continue
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const types = typeof target === 'string' ? target : target.types
    if (typeof types !== 'string' || !types.startsWith('./dist/') || !types.endsWith('.d.ts')) {
      throw new Error(`${manifest.name}: export ${subpath} has no ./dist/*.d.ts types file to document`)
    }
    const source = `../../packages/${dir}/src/${types.slice('./dist/'.length, -'.d.ts'.length)}.ts`
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`
    entryPointNames[source] = specifier
    paths[specifier] = [join(here, source)]
  }
}

/** @type {Partial<import('typedoc').TypeDocOptions> & { entryPointNames: Record<string, string> }} */
const config = {
  name: 'medvault API reference',
  entryPoints: Object.keys(entryPointNames),
  entryPointStrategy: 'resolve',
  tsconfig: './tsconfig.json',
  // Without this, `@medvault/fhir` imported by the SDK resolves to fhir's built .d.ts, a second copy of each
  // symbol that the reference does not include, and links from one package to another break.
  compilerOptions: { paths },
  out: './reference',
  readme: 'none',
  // Each module is named after the import specifier an app writes (see plugin.js).
  plugin: ['./plugin.js'],
  entryPointNames,
  // The sources are type-checked by `pnpm typecheck` with the repository's compiler; checking them again
  // here with TypeDoc's would only cost time.
  skipErrorChecking: true,
  excludePrivate: true,
  excludeInternal: true,
  // Types re-exported from viem, Helia and other dependencies are linked by name, not documented here.
  excludeExternals: true,
  // Broken `{@link}`s, exported signatures that use an unexported type, and unknown tags fail the build.
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
  // Source links point at the public repository, whatever clone (or CI checkout without a remote) builds it.
  disableGit: true,
  gitRevision: 'main',
  sourceLinkTemplate: 'https://github.com/medvault/medvault/blob/{gitRevision}/{path}#L{line}',
  githubPages: false,
  hideGenerator: true,
}
export default config
