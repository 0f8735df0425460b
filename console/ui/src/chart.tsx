// A small uPlot time series: a picture of the last hour, drawn on a canvas,
// redrawn in place when new points arrive.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

export function Chart({
  title,
  times,
  series,
  height = 140,
}: {
  title: string;
  times: (number | null)[];
  series: ChartSeries[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  const data = [
    times.map((t) => (t ?? 0) / 1000),
    ...series.map((s) => s.values),
  ] as uPlot.AlignedData;
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        width: Math.max(280, box.current.clientWidth),
        height,
        legend: { show: true },
        scales: { x: { time: true } },
        series: [
          {},
          ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false })),
        ],
        axes: [{ stroke: '#444' }, { stroke: '#444', size: 50 }],
      },
      data,
      box.current,
    );
    return () => plot.current?.destroy();
  }, [series.length]);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${title}: ${series.map((s) => `${s.label} now ${s.values.at(-1) ?? 'no data'}`).join(', ')}`}
      />
    </figure>
  );
}
