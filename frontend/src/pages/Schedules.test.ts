import { describe, expect, it } from 'vitest';
import { appendChunk } from '../live/jobLogs';
import { targetFor, timing } from './Schedules';

describe('schedules page', () => {
  it('reads timings as people say them', () => {
    expect(timing({ cron: null, interval_s: 3600, timezone: 'UTC' })).toBe('every 1 h');
    expect(timing({ cron: null, interval_s: 90, timezone: 'UTC' })).toBe('every 90 s');
    expect(timing({ cron: '0 2 * * *', interval_s: null, timezone: 'Europe/Paris' })).toBe('every night at 02:00 (Europe/Paris)');
    expect(timing({ cron: '5 4 * * 2', interval_s: null, timezone: 'UTC' })).toBe('cron 5 4 * * 2 (UTC)');
  });

  it('builds the target of each kind and names a bad JSON target', () => {
    const fields = { pipelineId: 'p1', dataset: 'flights', json: '' };
    expect(targetFor('pipeline', fields)).toEqual({ pipeline_id: 'p1' });
    expect(targetFor('profile', fields)).toEqual({ dataset: 'flights' });
    expect(targetFor('train', { ...fields, json: '{"name": "m"}' })).toEqual({ name: 'm' });
    expect(() => targetFor('train', { ...fields, json: '[1]' })).toThrow(/JSON object/);
    expect(() => targetFor('query', { ...fields, json: '{' })).toThrow(/Target/);
  });
});

describe('streamed job logs', () => {
  it('appends chunks in order, ignores repeats and reports gaps', () => {
    const logs = { job_id: 'j', logs: 'a\n', last_seq: 0, ray_job_id: null };
    expect(appendChunk(logs, { job_id: 'j', seq: 1, attempt: 1, text: 'b\n' })).toBe(true);
    expect(appendChunk(logs, { job_id: 'j', seq: 1, attempt: 1, text: 'b\n' })).toBe(true);
    expect(logs.logs).toBe('a\nb\n');
    expect(appendChunk(logs, { job_id: 'j', seq: 3, attempt: 1, text: 'd\n' })).toBe(false);
    expect(logs).toMatchObject({ logs: 'a\nb\n', last_seq: 1 });
  });
});
