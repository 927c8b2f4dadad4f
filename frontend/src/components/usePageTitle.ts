import { useEffect } from 'react';

/** The document's title: "<page> · Helio". */
export function usePageTitle(page: string): void {
  useEffect(() => {
    document.title = `${page} · Helio`;
  }, [page]);
}
