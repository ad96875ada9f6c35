/** Small dependency-free SVG charts (line chart, heat map) with accessible titles. */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

const W = 320;
const H = 240;
const PAD = 36;

/** Line chart over the unit square by default; `marker` draws one highlighted point. */
export function LineChart(props: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  marker?: [number, number];
  diagonal?: boolean;
}) {
  const all = props.series.flatMap((s) => s.points);
  const xd = props.xDomain ?? [Math.min(...all.map((p) => p[0]), 0), Math.max(...all.map((p) => p[0]), 1)];
  const yd = props.yDomain ?? [Math.min(...all.map((p) => p[1]), 0), Math.max(...all.map((p) => p[1]), 1e-9)];
  const sx = (x: number) => PAD + ((x - xd[0]) / (xd[1] - xd[0] || 1)) * (W - PAD - 10);
  const sy = (y: number) => H - PAD - ((y - yd[0]) / (yd[1] - yd[0] || 1)) * (H - PAD - 10);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title}>
        <title>{props.title}</title>
        <line x1={PAD} y1={H - PAD} x2={W - 10} y2={H - PAD} stroke="#555" />
        <line x1={PAD} y1={10} x2={PAD} y2={H - PAD} stroke="#555" />
        <text x={PAD} y={H - PAD + 14} fontSize="10">
          {xd[0].toFixed(2)}
        </text>
        <text x={W - 40} y={H - PAD + 14} fontSize="10">
          {xd[1].toFixed(2)}
        </text>
        <text x={2} y={H - PAD} fontSize="10">
          {yd[0].toFixed(2)}
        </text>
        <text x={2} y={16} fontSize="10">
          {yd[1].toFixed(2)}
        </text>
        <text x={W / 2} y={H - 6} fontSize="11" textAnchor="middle">
          {props.xLabel}
        </text>
        <text x={12} y={H / 2} fontSize="11" textAnchor="middle" transform={`rotate(-90 12 ${H / 2})`}>
          {props.yLabel}
        </text>
        {props.diagonal && (
          <line x1={sx(0)} y1={sy(0)} x2={sx(1)} y2={sy(1)} stroke="#bbb" strokeDasharray="4 3" />
        )}
        {props.series.map((s) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={s.color}
            strokeWidth={2}
            points={s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')}
          />
        ))}
        {props.marker && <circle cx={sx(props.marker[0])} cy={sy(props.marker[1])} r={5} fill="#d62728" />}
      </svg>
      <figcaption>
        {props.title}
        {props.series.length > 1 &&
          props.series.map((s) => (
            <span key={s.name} style={{ color: s.color, marginLeft: 8 }}>
              ■ {s.name}
            </span>
          ))}
      </figcaption>
    </figure>
  );
}

/** Heat map of `value` over two categorical axes (e.g. alpha × gamma); darker is higher. */
export function HeatMap(props: {
  title: string;
  xLabel: string;
  yLabel: string;
  cells: Array<{ x: number; y: number; value: number | null }>;
}) {
  const xs = [...new Set(props.cells.map((c) => c.x))].sort((a, b) => a - b);
  const ys = [...new Set(props.cells.map((c) => c.y))].sort((a, b) => a - b);
  const vals = props.cells.map((c) => c.value).filter((v): v is number => v !== null);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const cell = (x: number, y: number) => props.cells.find((c) => c.x === x && c.y === y)?.value ?? null;
  return (
    <table className="heat" aria-label={props.title}>
      <caption>{props.title}</caption>
      <thead>
        <tr>
          <th scope="col">
            {props.yLabel} \ {props.xLabel}
          </th>
          {xs.map((x) => (
            <th key={x} scope="col">
              {x}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {ys.map((y) => (
          <tr key={y}>
            <th scope="row">{y}</th>
            {xs.map((x) => {
              const v = cell(x, y);
              const k = v === null || hi === lo ? 0.5 : (v - lo) / (hi - lo);
              return (
                <td
                  key={x}
                  style={{
                    background: v === null ? '#eee' : `rgba(31,119,180,${0.15 + 0.85 * k})`,
                    color: k > 0.6 ? '#fff' : '#000',
                  }}
                >
                  {v === null ? '—' : v.toFixed(3)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
