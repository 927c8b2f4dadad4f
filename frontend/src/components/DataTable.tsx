import type { ReactNode } from 'react';

function cell(value: unknown): ReactNode {
  if (value === null || value === undefined) return <span className="muted">null</span>;
  if (Array.isArray(value)) return `[${value.length} values]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function DataTable({ columns, rows, caption }: {
  columns: string[];
  rows: unknown[][];
  caption?: string;
}) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={caption ?? 'Table'}>
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>{columns.map((c) => <th key={c} scope="col">{c}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>{row.map((v, j) => <td key={j}>{cell(v)}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
