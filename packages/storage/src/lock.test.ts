import { expect, test } from 'vitest'
import { SharedExclusiveLock } from './lock.ts'

const tick = () => new Promise((r) => setImmediate(r))

test('default: shared holders run together; an exclusive holder waits for all of them', async () => {
  const lock = new SharedExclusiveLock()
  const order: string[] = []
  const r1 = await lock.shared()
  const r2 = await lock.shared()
  const x = lock.exclusive().then((release) => {
    order.push('exclusive')
    return release
  })
  await tick()
  expect(order).toEqual([])
  r1()
  await tick()
  expect(order).toEqual([])
  r2()
  const releaseX = await x
  expect(order).toEqual(['exclusive'])
  releaseX()
})

test('behavior: a waiting exclusive holder goes before shared holders that came after it', async () => {
  const lock = new SharedExclusiveLock()
  const order: string[] = []
  const r1 = await lock.shared()
  const x = lock.exclusive().then((release) => {
    order.push('exclusive')
    release()
  })
  const late = lock.shared().then((release) => {
    order.push('late shared')
    release()
  })
  r1()
  await Promise.all([x, late])
  expect(order).toEqual(['exclusive', 'late shared'])
})

test('behavior: shared holders queued behind an exclusive holder all start when it ends', async () => {
  const lock = new SharedExclusiveLock()
  const releaseX = await lock.exclusive()
  let running = 0
  const readers = [1, 2, 3].map(() =>
    lock.shared().then((release) => {
      running++
      return release
    }),
  )
  await tick()
  expect(running).toBe(0)
  releaseX()
  const releases = await Promise.all(readers)
  expect(running).toBe(3)
  for (const r of releases) r()
  const again = await lock.exclusive()
  again()
})
