import { describe, expect, it } from 'vitest';
import type { QueryResult } from '../api';
import { shape } from './shape';

const result = (columns: string[], rows: unknown[][]): QueryResult => ({
  dataset_id: 'd', version: 1, columns: columns.map((name) => ({ name, type: 'float' })), rows,
  row_count: rows.length, truncated: false, cached: false, elapsed_ms: 1,
});

describe('shape', () => {
  it('sorts by value and folds the tail into Other', () => {
    const r = result(['city', 'n'], [['a', 1], ['b', 5], ['c', 3], ['d', 2]]);
    const s = shape(r, { x: 'city', y: ['n'], sort: 'value_desc', top_n: 2 });
    expect(s.rows).toEqual([{ city: 'b', n: 5 }, { city: 'c', n: 3 }, { city: 'Other', n: 3 }]);
  });
  it('splits a metric into one series per value of a second column', () => {
    const r = result(['month', 'origin', 'n'], [['m1', 'JFK', 1], ['m1', 'LGA', 2], ['m2', 'JFK', 3]]);
    const s = shape(r, { x: 'month', y: ['n'], series: 'origin' });
    expect(s.series.map((x) => x.key)).toEqual(['JFK', 'LGA']);
    expect(s.rows).toEqual([{ month: 'm1', JFK: 1, LGA: 2 }, { month: 'm2', JFK: 3 }]);
  });
});
