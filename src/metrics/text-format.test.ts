import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatValue, renderFamilies } from './text-format.ts';

test('counters and gauges render one line per sample, labels escaped', () => {
  const text = renderFamilies([
    {
      name: 'skiff_x_total',
      help: 'A help\nline with \\',
      type: 'counter',
      samples: [
        { labels: { service: 'web', reason: 'a"b\\c\nd' }, value: 3 },
        { labels: {}, value: 0 },
      ],
    },
  ]);
  assert.equal(
    text,
    [
      '# HELP skiff_x_total A help\\nline with \\\\',
      '# TYPE skiff_x_total counter',
      'skiff_x_total{service="web",reason="a\\"b\\\\c\\nd"} 3',
      'skiff_x_total 0',
      '',
    ].join('\n'),
  );
});

test('histograms render cumulative buckets, +Inf, sum and count', () => {
  const text = renderFamilies([
    {
      name: 'skiff_d_seconds',
      help: 'd',
      type: 'histogram',
      samples: [
        {
          labels: { node: 'n1' },
          buckets: [
            [0.1, 1],
            [1, 3],
          ],
          sum: 2.5,
          count: 4,
        },
      ],
    },
  ]);
  assert.deepEqual(text.trim().split('\n').slice(2), [
    'skiff_d_seconds_bucket{node="n1",le="0.1"} 1',
    'skiff_d_seconds_bucket{node="n1",le="1"} 3',
    'skiff_d_seconds_bucket{node="n1",le="+Inf"} 4',
    'skiff_d_seconds_sum{node="n1"} 2.5',
    'skiff_d_seconds_count{node="n1"} 4',
  ]);
});

test('special values use the format spellings, and nothing renders as empty', () => {
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
  assert.equal(formatValue(1e-7), '1e-7');
  assert.equal(renderFamilies([]), '');
});
