import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { type Problem, problemText } from './api.js'

/** A problem from the API, announced to screen readers. */
export const ProblemBox = ({ problem }: { readonly problem: Problem | undefined }) =>
  problem === undefined ? null : (
    <p class="problem" role="alert">
      {problemText(problem)}
    </p>
  )

export const Json = ({ value, label }: { readonly value: unknown; readonly label: string }) => (
  <pre class="json" tabIndex={0} aria-label={label}>
    {JSON.stringify(value, null, 2)}
  </pre>
)

/** A copy-to-clipboard button for a command shown beside it. */
export const Copyable = ({ text, label }: { readonly text: string; readonly label: string }) => {
  const [done, setDone] = useState(false)
  return (
    <div class="copyable">
      <code aria-label={label}>{text}</code>
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(text).then(
            () => setDone(true),
            () => setDone(false),
          )
        }}
      >
        {done ? 'Copied' : 'Copy'}
      </button>
    </div>
  )
}

/** A hand-drawn SVG sparkline of the last values (no chart library). */
export const Sparkline = ({ values, label, width = 240, height = 48 }: { readonly values: readonly number[]; readonly label: string; readonly width?: number; readonly height?: number }) => {
  const max = Math.max(1e-9, ...values)
  const step = values.length > 1 ? width / (values.length - 1) : width
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ')
  const last = values[values.length - 1]
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: last ${last === undefined ? 'no data' : fmt(last)}, max ${fmt(max)}`}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  )
}

export const fmt = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en') : n < 10 ? n.toFixed(2) : n.toFixed(0))

/** Calls `f` now and every `ms` until unmounted. */
export const usePoll = (f: () => void | Promise<void>, ms: number, deps: readonly unknown[] = []): void => {
  const ref = useRef(f)
  ref.current = f
  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = async () => {
      await ref.current()
      if (!stopped) timer = setTimeout(() => void tick(), ms)
    }
    void tick()
    return () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    }
  }, deps)
}

export const Section = ({ title, children }: { readonly title: string; readonly children: ComponentChildren }) => (
  <section aria-label={title}>
    <h2>{title}</h2>
    {children}
  </section>
)

export const Field = ({ label, children }: { readonly label: string; readonly children: ComponentChildren }) => (
  <label class="field">
    <span>{label}</span>
    {children}
  </label>
)

export const inputValue = (e: Event): string => (e.currentTarget as HTMLInputElement).value
