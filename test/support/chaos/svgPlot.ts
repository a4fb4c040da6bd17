/** One line of a panel: its label, colour and y values (one per x; `undefined` leaves a gap). */
export interface Series {
  readonly label: string
  readonly colour: string
  readonly values: readonly (number | undefined)[]
}

export interface Panel {
  readonly title: string
  readonly unit: string
  readonly series: readonly Series[]
}

const W = 900
const PANEL_H = 190
const LEFT = 70
const RIGHT = 20
const TOP = 30
const GAP = 50

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
/** A round step for about five grid lines up to `max`. */
const niceStep = (max: number): number => {
  const raw = max / 5
  const p = 10 ** Math.floor(Math.log10(raw))
  return ([1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw) || 1
}
const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1))

/**
 * A plain SVG of stacked line charts sharing one x axis (`xs`, e.g. minutes), no dependency:
 * each panel scales from 0 to its largest value, with grid lines, axis labels and a legend.
 */
export const renderSvg = (title: string, subtitle: string, xLabel: string, xs: readonly number[], panels: readonly Panel[]): string => {
  const height = TOP + 30 + panels.length * (PANEL_H + GAP)
  const xMax = Math.max(1e-9, ...xs)
  const px = (x: number) => LEFT + (x / xMax) * (W - LEFT - RIGHT)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="34" fill="#555">${esc(subtitle)}</text>`,
  ]
  panels.forEach((panel, k) => {
    const y0 = TOP + 30 + k * (PANEL_H + GAP)
    const all = panel.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined))
    const step = niceStep(Math.max(1e-9, ...all, 0))
    const yMax = Math.max(step, Math.ceil(Math.max(0, ...all) / step) * step)
    const py = (v: number) => y0 + PANEL_H - (v / yMax) * PANEL_H
    out.push(`<text x="${LEFT}" y="${y0 - 8}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`)
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#ddd"/>`)
      out.push(`<text x="${LEFT - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(v)}</text>`)
    }
    const xStep = niceStep(xMax)
    for (let x = 0; x <= xMax + 1e-9; x += xStep) {
      out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#eee"/>`)
      out.push(`<text x="${px(x).toFixed(1)}" y="${y0 + PANEL_H + 14}" text-anchor="middle" fill="#555">${fmt(x)}</text>`)
    }
    out.push(`<rect x="${LEFT}" y="${y0}" width="${W - LEFT - RIGHT}" height="${PANEL_H}" fill="none" stroke="#999"/>`)
    panel.series.forEach((s, j) => {
      const segments: string[][] = [[]]
      s.values.forEach((v, i) => {
        if (v === undefined) segments.push([])
        else segments[segments.length - 1]?.push(`${px(xs[i] ?? 0).toFixed(1)},${py(v).toFixed(1)}`)
      })
      for (const seg of segments) if (seg.length > 0) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="1.5" points="${seg.join(' ')}"/>`)
      const lx = W - RIGHT - 220 + j * 110
      out.push(`<rect x="${lx}" y="${y0 - 17}" width="10" height="3" fill="${s.colour}"/><text x="${lx + 14}" y="${y0 - 12}">${esc(s.label)}</text>`)
    })
    if (k === panels.length - 1) out.push(`<text x="${(LEFT + W - RIGHT) / 2}" y="${y0 + PANEL_H + 30}" text-anchor="middle">${esc(xLabel)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
