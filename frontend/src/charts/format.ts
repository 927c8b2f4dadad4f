/** Locale-aware formatting of result values, per field (ChartSpec.formats), and human
 * labels for machine column names (`dep_delay_mean` -> "Mean of dep delay"). */
import type { FieldFormat } from '../api';

const MONTHS = { month: 'short', year: 'numeric' } as const;
const numberCache = new Map<string, Intl.NumberFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let found = numberCache.get(key);
  if (!found) {
    found = new Intl.NumberFormat(undefined, options);
    numberCache.set(key, found);
  }
  return found;
}

const isDateText = (v: unknown): v is string =>
  typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v);

/** A default format for a column, from its type and name (a month bucket reads as a month). */
export function defaultFormat(column: string, type?: string): FieldFormat {
  if (/_(month|quarter)$/.test(column)) return { style: 'month' };
  if (/_year$/.test(column) && (type === 'timestamp' || type === 'date')) return { style: 'date' };
  if (type === 'timestamp') return /_(day|week)$/.test(column) ? { style: 'date' } : { style: 'datetime' };
  if (type === 'date') return { style: 'date' };
  if (type === 'string' || type === 'bool') return { style: 'text' };
  if (/(^|_)year$/.test(column)) return { style: 'number', decimals: 0 };
  return { style: 'number' };
}

/** Write one value: thousands separators, rounding (at most 2 decimals by default),
 * units, currencies, percentages, compact numbers, dates and months. */
export function formatValue(value: unknown, format: FieldFormat = { style: 'number' }): string {
  if (value === null || value === undefined || value === '') return '–';
  const style = format.style ?? 'number';
  const unit = format.unit ? ` ${format.unit}` : '';
  if (typeof value === 'number' && style !== 'text' && style !== 'date' && style !== 'month' && style !== 'datetime') {
    const digits = format.decimals ?? undefined;
    const opts: Intl.NumberFormatOptions =
      style === 'percent' ? { style: 'percent', maximumFractionDigits: digits ?? 1, minimumFractionDigits: digits }
        : style === 'currency' ? { style: 'currency', currency: format.currency ?? 'USD', maximumFractionDigits: digits ?? 2, minimumFractionDigits: digits }
          : style === 'compact' ? { notation: 'compact', maximumFractionDigits: digits ?? 1 }
            : { maximumFractionDigits: digits ?? (Math.abs(value) >= 100 ? 0 : 2), minimumFractionDigits: digits };
    return numberFormat(opts).format(value) + unit;
  }
  if ((style === 'date' || style === 'month' || style === 'datetime') && isDateText(value)) {
    const d = new Date(value.length === 10 ? `${value}T00:00:00` : value);
    if (!Number.isNaN(d.getTime())) {
      if (style === 'month') return d.toLocaleDateString(undefined, MONTHS);
      if (style === 'date') return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
      return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    }
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value) + unit;
}

const OPS: Record<string, string> = {
  sum: 'Total', mean: 'Mean', min: 'Min', max: 'Max', std: 'Std. dev.', count_distinct: 'Distinct',
  quantile: 'Quantile',
};
const BUCKETS = ['hour', 'day', 'week', 'month', 'quarter', 'year'];

const words = (s: string) => s.replace(/[_-]+/g, ' ').trim();
const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A human label for a result column: an explicit one, or one read from the name. */
export function humanLabel(column: string, labels?: Record<string, string>): string {
  const given = labels?.[column];
  if (given) return given;
  if (column === 'count') return 'Count';
  const op = Object.keys(OPS).find((o) => column.endsWith(`_${o}`));
  if (op) return `${OPS[op]} of ${words(column.slice(0, -(op.length + 1)))}`;
  const bucket = BUCKETS.find((b) => column.endsWith(`_${b}`));
  if (bucket) return `${capital(words(column.slice(0, -(bucket.length + 1))))} (${bucket})`;
  return capital(words(column));
}
