/**
 * The small subset of MessagePack that umbral-pre's `to_bytes()` writes (rmp-serde, structs as arrays):
 * arrays, binary strings and booleans. Decoding is strict: only these types, the whole input consumed.
 *
 * @module
 */

export type MsgValue = Uint8Array | boolean | MsgValue[]

export function encodeMsgpack(value: MsgValue): Uint8Array {
  const out: number[] = []
  const write = (v: MsgValue): void => {
    if (typeof v === 'boolean') {
      out.push(v ? 0xc3 : 0xc2)
    } else if (v instanceof Uint8Array) {
      const n = v.length
      if (n < 0x100) out.push(0xc4, n)
      else if (n < 0x10000) out.push(0xc5, n >> 8, n & 0xff)
      else out.push(0xc6, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
      for (const b of v) out.push(b)
    } else {
      const n = v.length
      if (n < 16) out.push(0x90 | n)
      else if (n < 0x10000) out.push(0xdc, n >> 8, n & 0xff)
      else out.push(0xdd, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
      for (const item of v) write(item)
    }
  }
  write(value)
  return Uint8Array.from(out)
}

/** Thrown by {@link decodeMsgpack}; callers turn it into a typed deserialization error. */
export class MsgpackFormatError extends Error {
  override name = 'MsgpackFormatError'
}

const MAX_DEPTH = 8

export function decodeMsgpack(bytes: Uint8Array): MsgValue {
  let pos = 0
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new MsgpackFormatError('unexpected end of input')
  }
  const uint = (n: number): number => {
    need(n)
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + (bytes[pos + i] as number)
    pos += n
    return v
  }
  const read = (depth: number): MsgValue => {
    if (depth > MAX_DEPTH) throw new MsgpackFormatError('nesting too deep')
    const tag = uint(1)
    if (tag === 0xc2) return false
    if (tag === 0xc3) return true
    if (tag === 0xc4 || tag === 0xc5 || tag === 0xc6) {
      const n = uint(tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : 4)
      need(n)
      const v = new Uint8Array(bytes.subarray(pos, pos + n))
      pos += n
      return v
    }
    let n: number
    if (tag >= 0x90 && tag <= 0x9f) n = tag & 0x0f
    else if (tag === 0xdc) n = uint(2)
    else if (tag === 0xdd) n = uint(4)
    else throw new MsgpackFormatError(`unexpected type 0x${tag.toString(16)}`)
    // Each element takes at least one byte: refuse lengths the input cannot hold before allocating.
    if (n > bytes.length - pos) throw new MsgpackFormatError('unexpected end of input')
    const arr: MsgValue[] = []
    for (let i = 0; i < n; i++) arr.push(read(depth + 1))
    return arr
  }
  const value = read(0)
  if (pos !== bytes.length) throw new MsgpackFormatError('trailing bytes')
  return value
}

export function asArray(v: MsgValue, length: number): MsgValue[] {
  if (!Array.isArray(v)) throw new MsgpackFormatError('expected an array')
  if (v.length !== length) throw new MsgpackFormatError(`expected an array of ${length} items`)
  return v
}

export function asBytes(v: MsgValue | undefined, length: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new MsgpackFormatError('expected a byte string')
  if (v.length !== length) throw new MsgpackFormatError(`expected ${length} bytes, got ${v.length}`)
  return v
}

export function asBool(v: MsgValue | undefined): boolean {
  if (typeof v !== 'boolean') throw new MsgpackFormatError('expected a boolean')
  return v
}
