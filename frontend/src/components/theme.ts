/** Light / dark theme: the OS preference unless the user picked one (kept in
 * localStorage); applied as `data-theme` on <html>, which the stylesheet keys on. */
export type Theme = 'light' | 'dark';
const KEY = 'helio-theme';

export function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

export function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme | null): Theme {
  const effective = theme ?? systemTheme();
  document.documentElement.dataset.theme = effective;
  document.documentElement.style.colorScheme = effective;
  try {
    if (theme) localStorage.setItem(KEY, theme);
    else localStorage.removeItem(KEY);
  } catch {
    /* private mode */
  }
  return effective;
}
