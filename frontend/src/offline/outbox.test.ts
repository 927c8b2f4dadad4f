import { describe, expect, it } from 'vitest';
import { outbox, outboxSlice, replayQueue, type QueuedEdit } from './outbox';

const edit = (id: string, name: string, baseVersion = 1): QueuedEdit => ({
  id, dashboardId: 'd1', baseVersion, name, charts: [], queuedAt: '2026-01-01T00:00:00Z',
});

describe('outbox', () => {
  it('keeps one queued edit per dashboard, based on the version it started from', () => {
    let state = outboxSlice.reducer(undefined, outbox.queued(edit('a', 'first')));
    state = outboxSlice.reducer(state, outbox.queued(edit('b', 'second', 2)));
    expect(state.queued).toHaveLength(1);
    expect(state.queued[0]).toMatchObject({ name: 'second', baseVersion: 1 });
  });

  it('replays in order and turns a 409 into a conflict that keeps the edit', async () => {
    const replayed: string[] = [];
    const conflicts: unknown[] = [];
    await replayQueue([edit('a', 'ok'), edit('b', 'late')], async (e) =>
      e.id === 'a' ? { data: undefined } : {
        error: { status: 409, data: { detail: 'changed', current: { name: 'server', version: 3 } } },
      }, { replayed: (id) => replayed.push(id), conflicted: (c) => conflicts.push(c) });
    expect(replayed).toEqual(['a']);
    expect(conflicts).toEqual([expect.objectContaining({
      id: 'b', name: 'late', message: 'changed', current: { name: 'server', version: 3 } })]);
  });

  it('stops and keeps the rest while the server is unreachable', async () => {
    const replayed: string[] = [];
    await replayQueue([edit('a', 'x')], async () => ({ error: { status: 'FETCH_ERROR' } }),
      { replayed: (id) => replayed.push(id), conflicted: () => undefined });
    expect(replayed).toEqual([]);
  });
});
