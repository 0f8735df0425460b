import { expect, test } from 'vitest';
import { histogramQuantile, parsePrometheusText } from './prometheus-text.ts';
import { countersFrom } from './figures.ts';

const TEXT = `# HELP roost_gateway_requests_total Requests answered.
# TYPE roost_gateway_requests_total counter
roost_gateway_requests_total{namespace="default",function="hello",code="200"} 90
roost_gateway_requests_total{namespace="default",function="hello",code="502"} 10
roost_gateway_request_duration_seconds_bucket{le="0.01",namespace="default",function="hello"} 50
roost_gateway_request_duration_seconds_bucket{le="0.1",namespace="default",function="hello"} 99
roost_gateway_request_duration_seconds_bucket{le="+Inf",namespace="default",function="hello"} 100
roost_gateway_cold_start_duration_seconds_count{namespace="default",function="hello"} 3
roost_gateway_inflight{namespace="default",function="hello"} 2
roost_gateway_requests_total{namespace="odd",function="q\\"x",code="200"} 1
garbage line {{{
roost_gateway_process_cpu_seconds_total 12.5
roost_events_queued{namespace="default",function="hello"} 7
`;

test('reads samples with labels, escapes included; skips comments and garbage', () => {
  const samples = parsePrometheusText(TEXT, 'roost_gateway_');
  expect(samples).toContainEqual({
    name: 'roost_gateway_requests_total',
    labels: { namespace: 'odd', function: 'q"x', code: '200' },
    value: 1,
  });
  expect(samples).toContainEqual({
    name: 'roost_gateway_process_cpu_seconds_total',
    labels: {},
    value: 12.5,
  });
  expect(samples.some((s) => s.name.startsWith('garbage'))).toBe(false);
});

test('turns the gateway metrics into counters per function', () => {
  const counters = countersFrom(parsePrometheusText(TEXT, 'roost_gateway_')).get('default/hello')!;
  expect(counters).toMatchObject({ requests: 100, errors: 10, coldStarts: 3, inFlight: 2 });
  expect(counters.buckets.get(Infinity)).toBe(100);
});

test('queued events are the depth of one queue, never summed like requests', () => {
  const one = countersFrom(parsePrometheusText(TEXT, 'roost_')).get('default/hello')!;
  expect(one.queued).toBe(7);
  // The same samples twice: requests add up, the depth does not.
  const both = countersFrom(parsePrometheusText(TEXT + TEXT, 'roost_')).get('default/hello')!;
  expect(both.queued).toBe(7);
  expect(both.requests).toBe(200);
});

test('histogram quantiles interpolate inside a bucket, as Prometheus does', () => {
  const buckets: [number, number][] = [
    [0.01, 50],
    [0.1, 99],
    [Infinity, 100],
  ];
  expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.01);
  expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.1);
  expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.01 + 0.09 * (25 / 49));
  expect(
    histogramQuantile(0.5, [
      [0.1, 0],
      [Infinity, 0],
    ]),
  ).toBeUndefined();
});
