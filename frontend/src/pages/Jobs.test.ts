import { describe, expect, it } from 'vitest';
import { duration, standing, stripAnsi } from './Jobs';

describe('jobs page', () => {
  it('strips terminal colour codes from logs', () => {
    expect(stripAnsi('\x1b[1m\x1b[32mINFO\x1b[0m started \x1b[2K\x1b[?25lok')).toBe('INFO started ok');
  });

  it('writes durations people read', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
    expect(duration({ started_at: at(0), finished_at: at(2.5), status: 'succeeded' })).toBe('2.5 s');
    expect(duration({ started_at: at(0), finished_at: at(125), status: 'succeeded' })).toBe('2 min 5 s');
    expect(duration({ started_at: null, finished_at: null, status: 'queued' })).toBe('–');
  });
});

describe('queue standing', () => {
  it('says where a queued or retried job stands', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(standing({ status: 'queued', position: 3, attempt: 0, max_attempts: 3, not_before: null }, now)).toBe('#3 in queue');
    expect(standing({ status: 'queued', position: 1, attempt: 1, max_attempts: 3, not_before: new Date(now + 4500).toISOString() }, now))
      .toBe('#1 in queue · retry in 5 s · after attempt 1 of 3');
    expect(standing({ status: 'running', position: null, attempt: 2, max_attempts: 3, not_before: null }, now)).toBe('attempt 2 of 3');
    expect(standing({ status: 'succeeded', position: null, attempt: 1, max_attempts: 1, not_before: null }, now)).toBe('');
  });
});
