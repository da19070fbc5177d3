/**
 * The built-in HIPAA Safe Harbor rule set (45 CFR §164.514(b)(2)): the 18 identifiers of the individual and
 * of relatives, employers and household members are removed, and what cannot be recognised as safe is removed
 * too.
 *
 * The design is deny by default for text. Microsoft's sample Safe Harbor configuration lists free-text fields
 * one by one; here every `string`, `markdown`, `xhtml`, `url` and `base64Binary` value is removed unless it is
 * on a short list of values that are vocabulary, not free text (a coding's display, a quantity's unit). Codes,
 * numbers and booleans — the clinical content — stay.
 *
 * | HIPAA identifier | what the rules do |
 * |---|---|
 * | 1 names | every `HumanName` (only its `use` stays); `Reference.display`; all free text |
 * | 2 geography below state | every `Address` except `state`, `country`, `use`, `type`; ZIP to its first three digits, `000` in the restricted areas; `Location.position`; geolocation extensions |
 * | 3 dates except year; ages over 89 | every `date`, `dateTime` keeps its year only (or is shifted, see `dates`); `instant`s are removed; a date that shows an age over 89 is removed with its year; `Age` values over 89 removed |
 * | 4–6 phone, fax, email | every `ContactPoint` (only `system` and `use` stay) |
 * | 7–11, 18 SSN, MRN, health plan, account, licence, other numbers | every `Identifier` (only `use`, `type`, `system` stay) |
 * | 12–13 vehicle and device ids, serial numbers | device identifiers and serial/lot numbers are strings or `Identifier`s: removed |
 * | 14–15 URLs, IP addresses | every `url` value, `Attachment.url`, `Bundle.link`, `meta.source`; IP addresses only appear in strings |
 * | 16–17 biometrics, photographs | every `Attachment` (only `contentType` and `language` stay) and every `base64Binary` |
 * | narrative, notes, comments | `Resource.text` (`Narrative`), every `Annotation`, every `markdown` and `string` |
 * | extensions | removed, except US Core race, ethnicity and birth sex, and data-absent-reason |
 * | ids and references | resource ids, references, `fullUrl`s and transaction URLs are replaced by keyed HMAC-SHA256 pseudonyms, the same on both sides of every reference |
 *
 * @module
 */
import type { Rule, RuleSet } from './rules.ts'

/**
 * Three-digit ZIP areas of 20,000 people or fewer, whose codes become `000`: the HHS list from the 2000
 * Census (the one in HHS's de-identification guidance) together with the list in Microsoft's sample
 * configuration. Pass a list from current Census data through {@link createSafeHarbor} when there is one.
 */
export const RESTRICTED_ZIP3: readonly string[] = [
  '036',
  '059',
  '063',
  '102',
  '203',
  '205',
  '369',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
]

/** Extensions that are coded demographics, not identifiers. Every other extension is removed. */
const KEPT_EXTENSIONS = [
  'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
  'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
  'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
  'http://hl7.org/fhir/StructureDefinition/data-absent-reason',
]

const QUANTITY_TYPES = ['Quantity', 'SimpleQuantity', 'Age', 'Count', 'Distance', 'Duration', 'MoneyQuantity']

export interface SafeHarborOptions {
  /**
   * `year` (default): dates keep their year only — Safe Harbor as written. `shift`: full dates move by a keyed
   * number of days (1 to 50, never 0), the same for every date of one patient, so intervals between events
   * survive. Shifted dates are *not* Safe Harbor (a shifted date is still a date element); use them only under
   * an Expert Determination or a data use agreement that allows them.
   */
  dates?: 'year' | 'shift'
  /** Replace {@link RESTRICTED_ZIP3}. */
  restrictedZipCodeTabulationAreas?: readonly string[]
}

const keep = (path: string): Rule => ({ path, method: 'keep' })
const redact = (path: string): Rule => ({ path, method: 'redact' })
const hash = (path: string): Rule => ({ path, method: 'cryptoHash' })

/** Builds a Safe Harbor rule set; {@link safeHarbor} is the default one. */
export function createSafeHarbor(options: SafeHarborOptions = {}): RuleSet {
  const dates = options.dates ?? 'year'
  const dateMethod = dates === 'shift' ? 'dateShift' : 'redact'
  const rules: Rule[] = [
    // What stays as it is. Keep rules come first: an element a rule processed is not touched again. Other
    // extensions go at once, whole, before a keep rule below could save a part of one (an Address state
    // inside a birth-place extension) and leave an extension without its url.
    keep(`nodesByType('Extension').where(${KEPT_EXTENSIONS.map((u) => `url = '${u}'`).join(' or ')})`),
    { path: "nodesByType('Extension')", method: 'redact', partial: false },
    keep("nodesByType('Address').state"),
    keep("nodesByType('Address').country"),
    keep("nodesByType('Address').use"),
    keep("nodesByType('Address').type"),
    keep("nodesByType('HumanName').use"),
    keep("nodesByType('Identifier').use"),
    keep("nodesByType('Identifier').type.coding"),
    keep("nodesByType('Identifier').system"),
    keep("nodesByType('ContactPoint').system"),
    keep("nodesByType('ContactPoint').use"),
    keep("nodesByType('Attachment').contentType"),
    keep("nodesByType('Attachment').language"),
    keep("nodesByType('Coding').display"),
    ...QUANTITY_TYPES.map((t) => keep(`nodesByType('${t}').unit`)),
    keep('Bundle.entry.response.status'),
    // Questionnaire item ids: structure shared with the Questionnaire, not about the patient.
    keep("nodesByName('linkId')"),

    // Pseudonyms: the same HMAC on both ends of every reference, so the dataset stays linked.
    hash('Resource.id'),
    hash("nodesByType('Reference').reference"),
    hash('Bundle.entry.fullUrl'),
    hash('Bundle.entry.request.url'),
    hash('Bundle.entry.response.location'),
    hash('ImagingStudy.series.uid'),
    hash('ImagingStudy.series.instance.uid'),
    hash("nodesByType('oid')"),
    hash("nodesByType('uuid')"),

    // 3: dates and ages.
    { path: "nodesByType('date')", method: dateMethod },
    { path: "nodesByType('dateTime')", method: dateMethod },
    // An instant cannot be reduced to a year; shifted when shifting, removed otherwise.
    { path: "nodesByType('instant')", method: dateMethod },
    redact("nodesByType('Age')"),

    // 1, 2, 4–13, 16–18 and free text.
    redact("nodesByType('Narrative')"),
    redact("nodesByType('HumanName')"),
    redact("nodesByType('Address')"),
    redact('Location.position'),
    redact("nodesByType('ContactPoint')"),
    redact("nodesByType('Identifier')"),
    redact("nodesByType('Attachment')"),
    { path: "nodesByType('Annotation')", method: 'redact', partial: false },
    redact('Bundle.link'),
    redact('Resource.meta.source'),
    redact("nodesByType('base64Binary')"),
    redact("nodesByType('url')"),
    redact("nodesByType('markdown')"),
    redact("nodesByType('xhtml')"),
    redact("nodesByType('string')"),
  ]
  return Object.freeze({
    rules: Object.freeze(rules.map((r) => Object.freeze(r))),
    parameters: Object.freeze({
      compatibility: 'medvault' as const,
      enablePartialAgesForRedact: true,
      enablePartialDatesForRedact: true,
      enablePartialZipCodesForRedact: true,
      restrictedZipCodeTabulationAreas: Object.freeze([
        ...(options.restrictedZipCodeTabulationAreas ?? RESTRICTED_ZIP3),
      ]),
    }),
  })
}

/**
 * The built-in HIPAA Safe Harbor rule set (dates reduced to their year). Needs `{ key }` in
 * {@link deidentify} for its pseudonyms.
 */
export const safeHarbor: RuleSet = createSafeHarbor()
