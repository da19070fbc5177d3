// @ts-check
/**
 * Names each module of the reference after the import specifier an app writes (`@medvault/crypto/umbral`)
 * instead of its source path (`crypto/src/umbral/index`).
 */
import { relative, resolve } from 'node:path'
import { Converter, ParameterType } from 'typedoc'

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.options.addDeclaration({
    name: 'entryPointNames',
    help: 'source file of an entry point (relative to the options file) → module name',
    type: ParameterType.Mixed,
    defaultValue: {},
  })
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (reflection.parent !== context.project) return
    const names = /** @type {Record<string, string>} */ (app.options.getValue('entryPointNames'))
    const base = resolve(import.meta.dirname)
    const symbol = context.getSymbolFromReflection(reflection)
    const file = symbol?.declarations?.[0]?.getSourceFile().fileName
    if (!file) return
    const name = names[relative(base, file)]
    if (name) reflection.name = name
  })
}
