/**
 * Small bar charts as inline SVG, drawn on the server: no charting library, no script, nothing fetched.
 * Empty buckets (null) are drawn as a dot on the baseline so "no data" is not read as zero.
 *
 *   const svg = barChart({ title: 'Deploys per week', values: [1, 4, null], labels: ['3 Nov', '10 Nov', '17 Nov'], format: String });
 */
import { type Html, html } from './html.js';

export interface BarChartOptions {
  title: string;
  values: readonly (number | null)[];
  /** One label per bar (shown in the tooltip; the first and last also under the axis). */
  labels: readonly string[];
  format: (value: number) => string;
  /** CSS class for the bars' colour (see style.css). */
  tone?: 'good' | 'bad' | 'neutral';
  width?: number;
  height?: number;
}

export function barChart({ title, values, labels, format, tone = 'neutral', width = 260, height = 90 }: BarChartOptions): Html {
  const top = 14;
  const bottom = 16;
  const plot = height - top - bottom;
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const n = Math.max(1, values.length);
  const slot = width / n;
  const bar = Math.max(2, slot * 0.7);
  const bars = values.map((v, i) => {
    const x = i * slot + (slot - bar) / 2;
    const label = `${labels[i] ?? ''}: ${v === null ? 'no data' : format(v)}`;
    if (v === null) return html`<circle class="nodata" cx="${(x + bar / 2).toFixed(1)}" cy="${top + plot - 1.5}" r="1.5"><title>${label}</title></circle>`;
    const h = max > 0 ? Math.max(v > 0 ? 2 : 0, (v / max) * plot) : 0;
    return html`<rect class="bar ${tone}" x="${x.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" rx="1.5"><title>${label}</title></rect>`;
  });
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}">
<title>${title}</title>
<text class="axis" x="0" y="10">${max > 0 ? `max ${format(max)}` : 'no data yet'}</text>
<line class="base" x1="0" y1="${top + plot + 0.5}" x2="${width}" y2="${top + plot + 0.5}"></line>
${bars}
<text class="axis" x="0" y="${height - 3}">${first}</text>
<text class="axis" x="${width}" y="${height - 3}" text-anchor="end">${last}</text>
</svg>`;
}
