import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fhirpath from 'fhirpath'
import { describe, expect, test, vi } from 'vitest'
import { loadAnonymizerConfig } from './anonymizer-config.ts'
import { type ElementNode, parseResource } from './element.ts'
import { InvalidRuleSetError } from './errors.ts'
import { checkExpression, compileSelector, FHIRPATH_FUNCTIONS, hasFastPath } from './fhirpath.ts'
import { model } from './r4-model.ts'
import { compileRuleSet } from './rules.ts'
import { createSafeHarbor } from './safe-harbor.ts'

const REPO = join(import.meta.dirname, '..', '..', '..')
const ANONYMIZER = join(REPO, 'test', 'fhir', 'fixtures', 'fhir-anonymizer')
const SYNTHEA = join(REPO, 'test', 'fhir', 'fixtures', 'synthea', 'fhir-r4-synthea-hiv')

function resources(root: ElementNode): ElementNode[] {
  const out: ElementNode[] = []
  const walk = (n: ElementNode) => {
    if (n.isResource) out.push(n)
    for (const c of n.children) walk(c)
  }
  walk(root)
  return out
}

describe('FHIRPath on the element tree', () => {
  test('default: every function in the list is implemented by the installed fhirpath, and only those', () => {
    // Called without arguments, fhirpath.js warns about the arity of functions that take some: expected here.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    for (const name of FHIRPATH_FUNCTIONS) {
      let message = ''
      try {
        fhirpath.evaluate({ resourceType: 'Patient' }, `Patient.${name}()`, undefined, model)
      } catch (e) {
        message = String((e as Error).message)
      }
      expect(message, name).not.toMatch(/Not implemented/)
    }
    warn.mockRestore()
    expect(() =>
      fhirpath.evaluate({ resourceType: 'Patient' }, 'Patient.invalid()', undefined, model),
    ).toThrow(/Not implemented: invalid/)
  })

  test('error: unknown functions, wrong arity of the anonymizer functions, syntax errors', () => {
    for (const bad of [
      'invalid()',
      "nodesByType('a','b')",
      'nodesByType()',
      'name.where(',
      "Patient.memberOf('x')",
    ]) {
      expect(() => checkExpression(bad, 'f')).toThrow(InvalidRuleSetError)
    }
  })

  // The common path shapes are walked on the tree without fhirpath.js; both ways must select the same elements,
  // in the same order, on real data, after each rule has changed it (as during a run).
  test('behavior: the fast paths select exactly what fhirpath.js selects', () => {
    const ruleSets = [
      createSafeHarbor(),
      loadAnonymizerConfig(
        readFileSync(join(ANONYMIZER, 'configurations', 'r4-configuration-sample.json'), 'utf8'),
      ),
      loadAnonymizerConfig(readFileSync(join(ANONYMIZER, 'configurations', 'common-config.json'), 'utf8')),
      loadAnonymizerConfig(readFileSync(join(ANONYMIZER, 'configuration-sample.json'), 'utf8')),
    ]
    const inputs: unknown[] = readdirSync(join(ANONYMIZER, 'test-pairs'))
      .filter((f) => f.endsWith('.json') && !f.includes('target'))
      .map((f) => JSON.parse(readFileSync(join(ANONYMIZER, 'test-pairs', f), 'utf8').replace(/^\uFEFF/, '')))
    const first = readdirSync(SYNTHEA).sort()[0]!
    inputs.push(JSON.parse(readFileSync(join(SYNTHEA, first), 'utf8')))
    let fast = 0
    let compared = 0
    for (const input of inputs) {
      const root = parseResource(input)
      for (const ruleSet of ruleSets) {
        for (const rule of compileRuleSet(ruleSet).rules) {
          if (rule.selectsResource) continue
          const expression = rule.selector!.expression
          if (!hasFastPath(expression)) continue
          const slow = compileSelector(expression, 'f', { fast: false })
          const quick = compileSelector(expression, 'f')
          fast++
          for (const r of resources(root)) {
            const a = quick.select(r)
            const b = slow.select(r)
            const same = a.length === b.length && a.every((n, i) => n === b[i])
            expect(same, `${expression} on ${r.location()}`).toBe(true)
            compared += b.length
            // Empty what was selected, as a redaction would, so later rules see a changed tree.
            for (const n of b.slice(0, 3)) if (n.isPrimitive && n.name !== 'url') n.setValue(null)
          }
        }
      }
    }
    expect(fast).toBeGreaterThan(100)
    expect(compared).toBeGreaterThan(1_000)
  })
})
