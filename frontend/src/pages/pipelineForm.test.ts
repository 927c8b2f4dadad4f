import { describe, expect, it } from 'vitest';
import { specFrom } from './pipelineForm';

describe('pipeline form', () => {
  it('builds the spec the API takes', () => {
    expect(specFrom('orders', 'revenue', [
      { op: 'filter', a: 'amount > 0', b: '' },
      { op: 'derive', a: 'eur', b: 'amount * 0.92' },
      { op: 'aggregate', a: 'country', b: 'count, sum:eur' },
      { op: 'sort', a: 'country', b: 'desc' },
      { op: 'limit', a: '10', b: '' },
    ])).toEqual({
      source: { dataset: 'orders' },
      steps: [
        { op: 'filter', expr: 'amount > 0' },
        { op: 'derive', column: 'eur', expr: 'amount * 0.92' },
        { op: 'aggregate', group_by: ['country'], aggregations: [{ op: 'count' }, { op: 'sum', column: 'eur' }] },
        { op: 'sort', by: [{ column: 'country', desc: true }] },
        { op: 'limit', n: 10 },
      ],
      sink: { dataset: 'revenue' },
    });
  });
});
