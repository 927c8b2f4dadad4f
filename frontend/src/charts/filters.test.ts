import { describe, expect, it } from 'vitest';
import type { ChartSpec } from '../api';
import { bucketEnd, filteredQuery, literal } from './filters';

const chart: ChartSpec = {
  id: 'c1', title: 't', dataset_id: 'd1', kind: 'line', x: 'time_hour_month', y: ['count'],
  query: { group_by: [{ column: 'time_hour', bucket: 'month' }], aggregations: [{ op: 'count' }], filter: 'distance > 0' },
};

describe('filters', () => {
  it('quotes string literals', () => {
    expect(literal("O'Hare")).toBe("'O''Hare'");
    expect(literal(3)).toBe('3');
  });
  it('finds the end of a bucket', () => {
    expect(bucketEnd('2013-12-01T00:00:00', 'month')).toBe('2014-01-01T00:00:00');
    expect(bucketEnd('2013-01-01', 'day')).toBe('2013-01-02T00:00:00');
  });
  it('adds dashboard filters, the time range and cross-filters of the same dataset', () => {
    const q = filteredQuery(chart, {
      filters: [{ id: 'f', dataset_id: 'd1', column: 'origin', values: ['JFK', 'LGA'] },
        { id: 'g', dataset_id: 'other', column: 'origin', values: ['EWR'] }],
      time_range: { dataset_id: 'd1', column: 'time_hour', start: '2013-03-01', end: null },
    }, ['origin', 'time_hour', 'distance'], { chartId: 'c2', datasetId: 'd1', column: 'carrier', value: 'UA' });
    expect(q.filter).toBe("(distance > 0) and `origin` in ('JFK', 'LGA') and `time_hour` >= '2013-03-01'");
    const crossed = filteredQuery(chart, {}, ['carrier'], { chartId: 'c2', datasetId: 'd1', column: 'carrier', value: 'UA' });
    expect(crossed.filter).toBe("(distance > 0) and (`carrier` == 'UA')");
    // The chart a cross-filter came from is not filtered by it.
    expect(filteredQuery(chart, {}, ['carrier'], { chartId: 'c1', datasetId: 'd1', column: 'carrier', value: 'UA' })).toBe(chart.query);
  });
});
