import { describe, expect, it } from 'vitest';
import { nudge } from './layout';

const layout = [{ i: 'a', x: 0, y: 0, w: 6, h: 7, minW: 2, minH: 3 }, { i: 'b', x: 6, y: 0, w: 6, h: 7 }];

describe('keyboard layout', () => {
  it('moves with the arrows and stays on the grid', () => {
    expect(nudge(layout, 'a', 'ArrowRight', false)?.[0]).toMatchObject({ x: 1, y: 0, w: 6 });
    expect(nudge(layout, 'a', 'ArrowLeft', false)?.[0]).toMatchObject({ x: 0 });
    expect(nudge(layout, 'b', 'ArrowRight', false)?.[1]).toMatchObject({ x: 6 });
    expect(nudge(layout, 'a', 'ArrowDown', false)?.[0]).toMatchObject({ y: 1 });
  });

  it('resizes with Shift + arrows, within the 12 columns and the minimum size', () => {
    expect(nudge(layout, 'a', 'ArrowRight', true)?.[0]).toMatchObject({ w: 7, h: 7 });
    expect(nudge(layout, 'b', 'ArrowRight', true)?.[1]).toMatchObject({ w: 6 });
    expect(nudge([{ ...layout[0]!, w: 2, h: 3 }], 'a', 'ArrowUp', true)?.[0]).toMatchObject({ h: 3 });
    expect(nudge(layout, 'a', 'Enter', false)).toBeNull();
  });
});
