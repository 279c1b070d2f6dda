// A group's lag over time (uPlot): total lag and lag per partition, sampled while the page is open.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LagSample {
  /** Seconds since the epoch. */
  at: number;
  total: number;
  /** "topic/partition" → lag */
  partitions: Record<string, number>;
}

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const MAX_SERIES = 8;

export function LagChart(props: { samples: LagSample[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const names = [...new Set(props.samples.flatMap((s) => Object.keys(s.partitions)))].sort().slice(0, MAX_SERIES);
  const shape = names.join('|');
  const data: uPlot.AlignedData = [
    props.samples.map((s) => s.at),
    props.samples.map((s) => s.total),
    ...names.map((n) => props.samples.map((s) => s.partitions[n] ?? null)),
  ];
  // A new plot when the set of series changes; otherwise only new data.
  useEffect(() => {
    if (!host.current) return;
    const width = Math.max(320, host.current.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label: 'records behind' }],
        series: [
          {},
          { label: 'total', stroke: '#111827', width: 2 },
          ...names.map((n, i) => ({ label: n, stroke: COLOURS[i % COLOURS.length], width: 1 })),
        ],
      },
      data,
      host.current,
    );
    const resize = () => host.current && plot.current?.setSize({ width: Math.max(320, host.current.clientWidth), height: 240 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);
  useEffect(() => plot.current?.setData(data), [props.samples]);
  return <div class="chart" ref={host} data-testid="lag-chart" data-samples={props.samples.length} />;
}
