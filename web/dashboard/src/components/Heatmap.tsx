/**
 * A heatmap in SVG: rows × columns of cells coloured on viridis, with axis labels, a colour bar,
 * and cells that have no value drawn as what they are (never grokked: hatched; still running:
 * pale; missing: blank). Used for phase diagrams (sweeps) and Fourier spectra over training.
 */
import { Fragment, type ReactNode } from 'react';
import { textOn, viridis } from '../palette.ts';

export type CellKind = 'value' | 'never' | 'running' | 'missing';

export interface HeatCell {
  kind: CellKind;
  /** In [0, 1]: the position on the colour scale (kind 'value'). */
  t?: number;
  /** Text drawn in the cell (when the cells are big enough). */
  text?: string;
  /** Second, smaller line (e.g. "2/3 grokked"). */
  note?: string;
  /** Tooltip. */
  title: string;
}

export interface HeatmapProps {
  rowLabels: string[];
  colLabels: string[];
  cell: (row: number, col: number) => HeatCell;
  xTitle: string;
  yTitle: string;
  cellWidth: number;
  cellHeight: number;
  /** Rows whose label is emphasised (key frequencies). */
  emphasisRows?: Set<number>;
  /** Show only every n-th row / column label (dense maps). */
  rowLabelEvery?: number;
  colLabelEvery?: number;
  /** Rotate column labels (long step numbers). */
  rotateColLabels?: boolean;
  onCellClick?: (row: number, col: number) => void;
  colorBar?: { low: string; high: string; title: string };
  testId?: string;
}

const LEFT = 74;
const TOP = 8;

export function Heatmap(props: HeatmapProps) {
  const { rowLabels, colLabels, cellWidth: cw, cellHeight: ch } = props;
  const width = colLabels.length * cw;
  const height = rowLabels.length * ch;
  const bottom = props.rotateColLabels ? 64 : 40;
  const rowEvery = props.rowLabelEvery ?? 1;
  const colEvery = props.colLabelEvery ?? 1;
  const showText = cw >= 44 && ch >= 26;
  const cells: ReactNode[] = [];
  for (let r = 0; r < rowLabels.length; r++) {
    for (let c = 0; c < colLabels.length; c++) {
      const cell = props.cell(r, c);
      const x = LEFT + c * cw;
      const y = TOP + r * ch;
      const fill =
        cell.kind === 'value'
          ? viridis(cell.t ?? 0)
          : cell.kind === 'never'
            ? 'url(#hatch-never)'
            : cell.kind === 'running'
              ? '#eef3f8'
              : '#fafafa';
      const color = cell.kind === 'value' ? textOn(cell.t ?? 0) : '#333';
      const clickable = props.onCellClick !== undefined && cell.kind !== 'missing';
      cells.push(
        // biome-ignore lint/a11y/noStaticElementInteractions: SVG cells; the same runs are reachable from the table below the map
        <g
          key={`${r}-${c}`}
          className={clickable ? 'heat-cell clickable' : 'heat-cell'}
          data-row={r}
          data-col={c}
          data-kind={cell.kind}
          onClick={clickable ? () => props.onCellClick?.(r, c) : undefined}
        >
          <title>{cell.title}</title>
          <rect
            x={x}
            y={y}
            width={cw - 1}
            height={ch - 1}
            fill={fill}
            stroke={cell.kind === 'missing' ? '#ddd' : 'none'}
          />
          {showText && cell.text && (
            <text
              x={x + cw / 2}
              y={y + ch / 2 + (cell.note ? -2 : 4)}
              textAnchor="middle"
              fontSize={12}
              fill={color}
            >
              {cell.text}
            </text>
          )}
          {showText && cell.note && (
            <text x={x + cw / 2} y={y + ch / 2 + 12} textAnchor="middle" fontSize={10} fill={color}>
              {cell.note}
            </text>
          )}
        </g>,
      );
    }
  }
  return (
    <div className="heatmap" data-testid={props.testId}>
      <svg
        width={LEFT + width + 12}
        height={TOP + height + bottom}
        role="img"
        aria-label={`${props.yTitle} by ${props.xTitle}`}
      >
        <defs>
          <pattern
            id="hatch-never"
            width="6"
            height="6"
            patternUnits="userSpaceOnUse"
            patternTransform="rotate(45)"
          >
            <rect width="6" height="6" fill="#e4e4e4" />
            <line x1="0" y1="0" x2="0" y2="6" stroke="#b0b0b0" strokeWidth="2" />
          </pattern>
        </defs>
        {cells}
        {rowLabels.map((label, r) =>
          r % rowEvery === 0 || props.emphasisRows?.has(r) ? (
            <text
              // biome-ignore lint/suspicious/noArrayIndexKey: labels may repeat; the index is the row
              key={r}
              x={LEFT - 6}
              y={TOP + r * ch + ch / 2 + 4}
              textAnchor="end"
              fontSize={Math.min(12, ch + 2)}
              fontWeight={props.emphasisRows?.has(r) ? 700 : 400}
              fill={props.emphasisRows?.has(r) ? '#000' : '#555'}
            >
              {label}
            </text>
          ) : null,
        )}
        {colLabels.map((label, c) =>
          c % colEvery === 0 ? (
            // biome-ignore lint/suspicious/noArrayIndexKey: labels may repeat; the index is the column
            <Fragment key={c}>
              {props.rotateColLabels ? (
                <text
                  transform={`translate(${LEFT + c * cw + cw / 2 + 4}, ${TOP + height + 6}) rotate(-60)`}
                  textAnchor="end"
                  fontSize={11}
                  fill="#555"
                >
                  {label}
                </text>
              ) : (
                <text
                  x={LEFT + c * cw + cw / 2}
                  y={TOP + height + 16}
                  textAnchor="middle"
                  fontSize={12}
                  fill="#555"
                >
                  {label}
                </text>
              )}
            </Fragment>
          ) : null,
        )}
        <text
          x={LEFT + width / 2}
          y={TOP + height + bottom - 4}
          textAnchor="middle"
          fontSize={12}
          fontWeight={600}
        >
          {props.xTitle}
        </text>
        <text
          transform={`translate(12, ${TOP + height / 2}) rotate(-90)`}
          textAnchor="middle"
          fontSize={12}
          fontWeight={600}
        >
          {props.yTitle}
        </text>
      </svg>
      {props.colorBar && <ColorBar {...props.colorBar} />}
    </div>
  );
}

export function ColorBar(props: { low: string; high: string; title: string }) {
  const stops = Array.from({ length: 11 }, (_, i) => `${viridis(i / 10)} ${i * 10}%`).join(', ');
  return (
    <div className="colorbar">
      <span className="colorbar-title">{props.title}</span>
      <span className="colorbar-end">{props.low}</span>
      <span className="colorbar-ramp" style={{ background: `linear-gradient(to right, ${stops})` }} />
      <span className="colorbar-end">{props.high}</span>
    </div>
  );
}

/** Legend for the cells without a value. */
export function CellKindLegend() {
  return (
    <div className="cell-legend">
      <span>
        <svg width="14" height="14" aria-hidden="true">
          <rect width="14" height="14" fill="url(#hatch-never)" stroke="#999" />
        </svg>{' '}
        never grokked (finished without reaching the threshold)
      </span>
      <span>
        <span className="swatch" style={{ background: '#eef3f8' }} /> still running
      </span>
      <span>
        <span className="swatch" style={{ background: '#fafafa', border: '1px solid #ddd' }} /> no run
      </span>
    </div>
  );
}
