/**
 * Charts as inline SVG built in code (no chart library): horizontal bars, each labelled with its category and value in text, so
 * nothing depends on colour. Each chart has a title and a text description for screen readers.
 */
export interface Bar {
  label: string;
  value: number;
}

export function BarChart(p: { id: string; title: string; bars: Bar[]; empty: string; unit?: string; format?: (v: number) => string }) {
  const fmt = p.format ?? ((v: number) => String(v));
  const max = Math.max(1, ...p.bars.map((b) => b.value));
  const labelW = 230;
  const barW = 300;
  const rowH = 24;
  const h = Math.max(1, p.bars.length) * rowH + 8;
  const desc = p.bars.length ? p.bars.map((b) => `${b.label}: ${fmt(b.value)}${p.unit ? ` ${p.unit}` : ''}`).join('; ') : p.empty;
  return (
    <figure class="chart">
      <figcaption id={`${p.id}-t`}>{p.title}</figcaption>
      <svg viewBox={`0 0 ${labelW + barW + 90} ${h}`} width="100%" role="img" aria-labelledby={`${p.id}-t ${p.id}-d`}>
        <desc id={`${p.id}-d`}>{desc}</desc>
        {p.bars.length === 0 && <text x="0" y="18" class="chart-label">{p.empty}</text>}
        {p.bars.map((b, i) => {
          const y = 4 + i * rowH;
          const w = (b.value / max) * barW;
          return (
            <g key={b.label}>
              <text x={labelW - 6} y={y + 15} text-anchor="end" class="chart-label">{b.label}</text>
              <rect x={labelW} y={y + 2} width={Math.max(w, 1)} height={rowH - 8} class="chart-bar" />
              <text x={labelW + w + 6} y={y + 15} class="chart-value">{fmt(b.value)}{p.unit ? ` ${p.unit}` : ''}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
