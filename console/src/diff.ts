/** One difference between two JSON values, at a path such as `items[0].price`. */
export interface Change {
  readonly path: string
  readonly kind: 'added' | 'removed' | 'changed'
  readonly before?: unknown
  readonly after?: unknown
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The differences from `a` to `b`, depth first, in key order (arrays by index). Total: never throws on JSON values. */
export const diffJson = (a: unknown, b: unknown, path = ''): readonly Change[] => {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: Change[] = []
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = `${path}[${i}]`
      if (i >= a.length) out.push({ path: p, kind: 'added', after: b[i] })
      else if (i >= b.length) out.push({ path: p, kind: 'removed', before: a[i] })
      else out.push(...diffJson(a[i], b[i], p))
    }
    return out
  }
  if (isObject(a) && isObject(b)) {
    const out: Change[] = []
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = path === '' ? k : `${path}.${k}`
      if (!(k in a)) out.push({ path: p, kind: 'added', after: b[k] })
      else if (!(k in b)) out.push({ path: p, kind: 'removed', before: a[k] })
      else out.push(...diffJson(a[k], b[k], p))
    }
    return out
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: path === '' ? '(whole payload)' : path, kind: 'changed', before: a, after: b }]
}
