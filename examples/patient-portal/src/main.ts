/**
 * The patient portal: five screens over one vault, chosen by the URL's hash (#records, #upload, #grant,
 * #grants, #audit). Plain DOM, no framework: each screen is a function that renders into `<main>`.
 *
 * @module
 */
import type { AuditEntry, Grant, PutOptions, RecordInfo } from '@medvault/sdk'
import type { Hex } from 'viem'
import { loadConfig, type PortalConfig } from './config.ts'
import { openSession, type Session } from './session.ts'

type Child = Node | string
type Attrs = Record<string, string>

/** `h('button', { type: 'submit' }, 'Grant')`: an element with attributes and children. */
function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v)
  el.append(...children)
  return el
}

const short = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-4)}`
const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19)
const purposeName = (p: string | number) => String(p)

const PURPOSES = ['TREAT', 'ETREAT', 'CAREMGT', 'HPAYMT', 'HRESCH', 'PATRQT', 'FAMRQT', 'PUBHLTH']

const screens = {
  records: { title: 'My records', render: renderRecords },
  upload: { title: 'Upload', render: renderUpload },
  grant: { title: 'Grant', render: renderGrant },
  grants: { title: 'Grants & revoke', render: renderGrants },
  audit: { title: 'Audit', render: renderAudit },
} as const
type ScreenName = keyof typeof screens

let session: Session
let config: PortalConfig
const main = document.querySelector('main')!
const statusLine = document.querySelector<HTMLElement>('#status')!

/** Shows what the portal is doing; `data-state` lets tests wait for `idle` or `error`. */
function status(text: string, state: 'busy' | 'idle' | 'error'): void {
  statusLine.textContent = text
  statusLine.dataset.state = state
}

/** An error as one line: its name and short message (SDK errors carry ids, never content or keys). */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const short = (err as { shortMessage?: string }).shortMessage ?? err.message.split('\n')[0]
    return `${err.name}: ${short}`
  }
  return String(err)
}

async function busy<T>(text: string, work: () => Promise<T>): Promise<T | undefined> {
  status(text, 'busy')
  try {
    const result = await work()
    status('Ready.', 'idle')
    return result
  } catch (err) {
    status(describe(err), 'error')
    return undefined
  }
}

/** The patient's own records: every record-registered event by this account, newest version's info. */
async function myRecords(): Promise<RecordInfo[]> {
  const ids: Hex[] = []
  for (const entry of await session.vault.audit.list()) {
    if (
      entry.kind === 'record-registered' &&
      entry.by === session.vault.address &&
      !ids.includes(entry.recordId)
    ) {
      ids.push(entry.recordId)
    }
  }
  return Promise.all(ids.map((id) => session.vault.records.info(id)))
}

function table(headers: string[], rows: Child[][], testId: string): HTMLElement {
  return h(
    'table',
    { 'data-testid': testId },
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  )
}

async function renderRecords(): Promise<void> {
  const records = (await busy('Reading your records…', myRecords)) ?? []
  const viewer = h('pre', { 'data-testid': 'record-view', class: 'viewer' })
  const rows = records.map((r) => {
    const open = h('button', { type: 'button', 'data-record': r.id }, 'Open')
    open.addEventListener('click', async () => {
      const bytes = await busy('Decrypting…', () => session.vault.records.get(r.id))
      if (bytes === undefined) return
      const text = new TextDecoder().decode(bytes)
      try {
        viewer.textContent = JSON.stringify(JSON.parse(text), null, 2)
      } catch {
        viewer.textContent = text
      }
    })
    return [
      r.name ?? '(unnamed)',
      r.mediaType ?? '',
      r.tag ?? '',
      `${r.size} B`,
      `v${r.version}`,
      h('code', { title: r.id }, short(r.id)),
      open,
    ]
  })
  main.replaceChildren(
    h('h2', {}, 'My records'),
    records.length === 0
      ? h('p', {}, 'No records yet. Upload a FHIR file.')
      : table(['name', 'type', 'tag', 'size', 'version', 'id', ''], rows, 'records'),
    viewer,
  )
}

async function renderUpload(): Promise<void> {
  const file = h('input', {
    type: 'file',
    name: 'file',
    accept: '.json,application/fhir+json,application/json',
    required: '',
  })
  const tag = h('input', { name: 'tag', placeholder: 'e.g. labs (optional)' })
  const result = h('p', { 'data-testid': 'upload-result' })
  const form = h(
    'form',
    {},
    h('label', {}, 'FHIR file (JSON: a resource or a Bundle)', file),
    h('label', {}, 'Category tag', tag),
    h('button', { type: 'submit' }, 'Encrypt and store'),
    result,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const chosen = (file as HTMLInputElement).files?.[0]
    if (chosen === undefined) return
    const stored = await busy('Validating, encrypting, storing and registering…', async () => {
      const text = await chosen.text()
      let resource: { resourceType?: unknown }
      try {
        resource = JSON.parse(text) as { resourceType?: unknown }
      } catch {
        throw new TypeError(`${chosen.name} is not JSON.`)
      }
      if (typeof resource.resourceType !== 'string') {
        throw new TypeError(`${chosen.name} has no resourceType: not a FHIR resource.`)
      }
      const category = (tag as HTMLInputElement).value.trim()
      // The JSON text as it was (not re-serialised), typed as FHIR; one record for the whole file (`bundle`
      // left at its default): one id to show and to grant.
      const options: PutOptions = {
        mediaType: 'application/fhir+json',
        name: chosen.name,
        ...(category === '' ? {} : { tag: category }),
      }
      try {
        // The SDK validates it as FHIR R4 first; an invalid file is refused with what is wrong.
        return { rec: (await session.vault.records.put(text, options)) as RecordInfo, validated: true }
      } catch (err) {
        // A page without the R4 definitions (they are large; see loadFhirDefinitions) cannot validate:
        // store it unchecked rather than not at all, and say so.
        if ((err as Error).name !== 'FhirDefinitionsUnavailableError') throw err
        const unchecked = { ...options, validate: false } as PutOptions
        return { rec: (await session.vault.records.put(text, unchecked)) as RecordInfo, validated: false }
      }
    })
    if (stored !== undefined) {
      const { rec, validated } = stored
      result.replaceChildren(
        'Stored ',
        h('code', { 'data-record': rec.id }, rec.id),
        validated ? ' (valid FHIR R4)' : ' (not validated: this page has no FHIR R4 definitions)',
      )
      result.dataset.record = rec.id
      result.dataset.validated = String(validated)
    }
  })
  main.replaceChildren(h('h2', {}, 'Upload a FHIR file'), form)
}

async function renderGrant(): Promise<void> {
  const records = (await busy('Reading your records…', myRecords)) ?? []
  const record = h(
    'select',
    { name: 'record' },
    ...records.map((r) => h('option', { value: r.id }, `${r.name ?? short(r.id)} (${short(r.id)})`)),
  )
  const to = h('input', { name: 'to', placeholder: '0x… the clinician’s address', required: '', size: '44' })
  const purpose = h('select', { name: 'purpose' }, ...PURPOSES.map((p) => h('option', { value: p }, p)))
  const expires = h('input', { name: 'expires', value: '30d', required: '' })
  const threshold = h('input', { name: 'threshold', type: 'number', min: '1', value: '2', required: '' })
  const result = h('p', { 'data-testid': 'grant-result' })
  const form = h(
    'form',
    {},
    h('label', {}, 'Record', record),
    h('label', {}, 'Clinician', to),
    h('label', {}, 'Purpose of use', purpose),
    h('label', {}, 'Expires in (e.g. 12h, 30d)', expires),
    h('label', {}, 'Proxies needed (M of the set)', threshold),
    h('button', { type: 'submit' }, 'Grant'),
    result,
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const value = (el: HTMLElement) => (el as HTMLInputElement).value.trim()
    const grant = await busy('Making key fragments and registering the grant…', () =>
      session.vault.grants.create({
        to: value(to) as Hex,
        records: [value(record) as Hex],
        purpose: value(purpose) as 'TREAT',
        expiresIn: value(expires),
        threshold: Number(value(threshold)),
      }),
    )
    if (grant !== undefined) {
      result.replaceChildren('Granted ', h('code', {}, grant.id), ` until ${when(grant.expiresAt)}`)
      result.dataset.grant = grant.id
    }
  })
  main.replaceChildren(
    h('h2', {}, 'Grant a clinician'),
    records.length === 0 ? h('p', {}, 'Upload a record first.') : form,
  )
}

function grantState(g: Grant): string {
  if (g.revoked) return 'revoked'
  return g.active ? 'active' : 'not active'
}

async function renderGrants(): Promise<void> {
  const grants = (await busy('Reading your grants…', () => session.vault.grants.list({ given: true }))) ?? []
  const rows = grants.map((g) => {
    const cell = h('span', { 'data-state': grantState(g) }, grantState(g))
    const actions: Child[] = []
    if (!g.revoked) {
      const revoke = h('button', { type: 'button', 'data-revoke': g.id }, 'Revoke')
      revoke.addEventListener('click', async () => {
        const done = await busy('Revoking…', () => session.vault.grants.revoke(g.id))
        if (done !== undefined) await renderGrants()
      })
      actions.push(revoke)
    }
    const scope = 'records' in g.scope ? g.scope.records.map(short).join(', ') : g.scope.kind
    return [
      h('code', { title: g.id }, short(g.id)),
      h('code', { title: g.grantee }, short(g.grantee)),
      scope,
      purposeName(g.purpose),
      when(g.expiresAt),
      `${g.threshold} of set ${g.proxySet}`,
      cell,
      h('span', {}, ...actions),
    ]
  })
  main.replaceChildren(
    h('h2', {}, 'Grants you gave'),
    grants.length === 0
      ? h('p', {}, 'No grants yet.')
      : table(['grant', 'to', 'records', 'purpose', 'expires', 'proxies', 'state', ''], rows, 'grants'),
  )
}

function describeEntry(e: AuditEntry): [string, string, string] {
  switch (e.kind) {
    case 'record-registered':
      return [`record ${short(e.recordId)} v${e.version} stored`, short(e.by), '']
    case 'grant':
      return [
        `granted ${purposeName(e.purpose)} until ${when(e.expiresAt)}`,
        short(e.grantee),
        short(e.grantId),
      ]
    case 'revocation':
      return ['revoked', short(e.grantee), short(e.grantId)]
    case 'break-glass':
      // Emergency access: the window it opened, and whether it was closed early.
      return [
        `BREAK-GLASS ${purposeName(e.reason)} on ${short(e.recordId)}, ${when(e.startedAt)} – ${when(e.endedAt ?? e.endsAt)}`,
        short(e.grantee),
        short(e.grantId),
      ]
    case 'read':
      return [
        `read ${short(e.recordId)} via proxy ${short(e.proxy)}${e.anchored ? ' (anchored)' : ''}`,
        short(e.reader),
        short(e.grantId),
      ]
  }
}

async function renderAudit(): Promise<void> {
  const entries = (await busy('Reading the audit trail…', () => session.vault.audit.list())) ?? []
  const rows = [...entries].reverse().map((e) => {
    const [what, who, grant] = describeEntry(e)
    return [
      when(e.at),
      h('span', { 'data-kind': e.kind, class: e.kind }, e.kind),
      what,
      h('code', {}, who),
      h('code', {}, grant),
    ]
  })
  main.replaceChildren(
    h('h2', {}, 'Who did what'),
    h(
      'p',
      { class: 'hint' },
      'Newest first. Reads come from the proxies’ signed receipts; emergency (break-glass) windows are marked.',
    ),
    table(['time', 'event', 'what', 'who', 'grant'], rows, 'audit'),
  )
}

function route(): void {
  const name = (location.hash.slice(1) || 'records') as ScreenName
  const screen = screens[name] ?? screens.records
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    link.classList.toggle('current', link.hash === `#${name}`)
  }
  document.body.dataset.screen = name
  delete document.body.dataset.rendered
  void screen.render().finally(() => {
    document.body.dataset.rendered = name
  })
}

async function start(): Promise<void> {
  const nav = document.querySelector('nav')!
  nav.replaceChildren(...Object.entries(screens).map(([name, s]) => h('a', { href: `#${name}` }, s.title)))
  status('Connecting…', 'busy')
  try {
    config = await loadConfig(new URL(location.href))
    session = await openSession(config)
  } catch (err) {
    status(describe(err), 'error')
    return
  }
  document.querySelector('#who')!.textContent =
    `${session.address} (${session.holder}) · chain ${config.chainId}`
  document.body.dataset.address = session.address
  status('Ready.', 'idle')
  window.addEventListener('hashchange', route)
  route()
}

void start()
