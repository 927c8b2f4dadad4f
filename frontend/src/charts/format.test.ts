import { describe, expect, it } from 'vitest';
import { defaultFormat, formatValue, humanLabel } from './format';

describe('formatValue', () => {
  it('rounds, separates thousands and adds units', () => {
    expect(formatValue(19.955389827868213)).toBe('19.96');
    expect(formatValue(1234567.891)).toBe('1,234,568');
    expect(formatValue(3.14159, { style: 'number', decimals: 1, unit: 'min' })).toBe('3.1 min');
    expect(formatValue(0.256, { style: 'percent' })).toBe('25.6%');
    expect(formatValue(2013, defaultFormat('year', 'int'))).toBe('2,013');
    expect(formatValue(null)).toBe('–');
  });
  it('writes month buckets as months, not numbers', () => {
    expect(formatValue('2013-02-01T00:00:00', defaultFormat('time_hour_month', 'timestamp'))).toBe('Feb 2013');
    expect(formatValue('2024-01-03', defaultFormat('day', 'date'))).toBe('Jan 3, 2024');
  });
});

describe('humanLabel', () => {
  it('reads aggregation and bucket names', () => {
    expect(humanLabel('dep_delay_mean')).toBe('Mean of dep delay');
    expect(humanLabel('count')).toBe('Count');
    expect(humanLabel('time_hour_month')).toBe('Time hour (month)');
    expect(humanLabel('x', { x: 'Custom' })).toBe('Custom');
  });
});
