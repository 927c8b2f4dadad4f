/** Dashboard filters, time range and cross-filters, written into each chart's query as
 * filter expressions in Helio's expression language (values are literals, quoted). */
import type { ChartSpec, DashboardSettings, Query } from '../api';

export type CrossFilter = { chartId: string; datasetId: string; column: string; value: unknown; bucket?: string };

const ident = (column: string) => `\`${column}\``;

export function literal(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `'${String(value).replace(/'/g, "''")}'`;
}

function pad(n: number): string { return String(n).padStart(2, '0'); }

/** The end of the bucket starting at `start` (ISO), as ISO without a zone. */
export function bucketEnd(start: string, bucket: string): string {
  const d = new Date(start.length === 10 ? `${start}T00:00:00Z` : /[Z+]|-\d\d:\d\d$/.test(start.slice(10)) ? start : `${start}Z`);
  const add: Record<string, () => void> = {
    hour: () => d.setUTCHours(d.getUTCHours() + 1), day: () => d.setUTCDate(d.getUTCDate() + 1),
    week: () => d.setUTCDate(d.getUTCDate() + 7), month: () => d.setUTCMonth(d.getUTCMonth() + 1),
    quarter: () => d.setUTCMonth(d.getUTCMonth() + 3), year: () => d.setUTCFullYear(d.getUTCFullYear() + 1),
  };
  (add[bucket] ?? add.day!)();
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:00:00`;
}

/** The group-by source column and bucket behind a chart's x (e.g. time_hour, month). */
export function xSource(chart: ChartSpec): { column: string; bucket?: string } {
  for (const key of (chart.query as Query).group_by ?? []) {
    if (typeof key === 'string') { if (key === chart.x) return { column: key }; continue; }
    const out = key.bucket ? `${key.column}_${key.bucket}` : key.column;
    if (out === chart.x) return { column: key.column, bucket: key.bucket ?? undefined };
  }
  return { column: chart.x };
}

export function crossFilterExpr(f: CrossFilter): string {
  if (f.bucket && typeof f.value === 'string') {
    return `${ident(f.column)} >= ${literal(f.value)} and ${ident(f.column)} < ${literal(bucketEnd(f.value, f.bucket))}`;
  }
  return f.value === null ? `${ident(f.column)} is null` : `${ident(f.column)} == ${literal(f.value)}`;
}

/** The chart's query with the dashboard's filters that apply to it (same dataset, and a
 * column the dataset has) and the cross-filter of another chart. */
export function filteredQuery(chart: ChartSpec, settings: DashboardSettings | undefined,
                              columns: string[], cross: CrossFilter | null): Query {
  const query = chart.query as Query;
  const parts: string[] = [];
  if (query.filter) parts.push(`(${query.filter})`);
  const applies = (datasetId: string, column: string) => datasetId === chart.dataset_id && columns.includes(column);
  for (const f of settings?.filters ?? []) {
    if (!applies(f.dataset_id, f.column) || !f.values?.length) continue;
    parts.push(f.values.length === 1 ? `${ident(f.column)} == ${literal(f.values[0])}`
      : `${ident(f.column)} in (${f.values.map(literal).join(', ')})`);
  }
  const range = settings?.time_range;
  if (range && applies(range.dataset_id, range.column)) {
    if (range.start) parts.push(`${ident(range.column)} >= ${literal(range.start)}`);
    if (range.end) parts.push(`${ident(range.column)} < ${literal(range.end)}`);
  }
  if (cross && cross.chartId !== chart.id && applies(cross.datasetId, cross.column)) parts.push(`(${crossFilterExpr(cross)})`);
  return parts.length === (query.filter ? 1 : 0) ? query : { ...query, filter: parts.join(' and ') };
}
