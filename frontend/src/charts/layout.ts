/** Dashboard grid layouts (12 columns). */
import type { LayoutItem } from 'react-grid-layout';

const KEYS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** The keyboard's drag and resize: arrows move a chart one cell, Shift + arrows resize it
 * (within the 12 columns); null for any other key. */
export function nudge(layout: LayoutItem[], id: string, key: string, resize: boolean): LayoutItem[] | null {
  const step = KEYS[key];
  if (!step) return null;
  const [dx, dy] = step;
  return layout.map((l) => {
    if (l.i !== id) return l;
    if (resize) {
      const w = Math.min(12 - l.x, Math.max(l.minW ?? 2, l.w + dx));
      return { ...l, w, h: Math.max(l.minH ?? 3, l.h + dy) };
    }
    return { ...l, x: Math.min(12 - l.w, Math.max(0, l.x + dx)), y: Math.max(0, l.y + dy) };
  });
}
