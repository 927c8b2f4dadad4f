/** The pipeline builder's form rows <-> the pipeline spec the API takes. */

export type StepRow = { op: string; a: string; b: string };

export const STEP_OPS: Record<string, { a?: string; b?: string; help: string }> = {
  filter: { a: 'Expression', help: "e.g. amount > 0 and country != 'FR'" },
  derive: { a: 'New column', b: 'Expression', help: 'e.g. amount * 0.92' },
  select: { a: 'Columns (comma separated)', help: 'keep only these columns' },
  drop_null: { a: 'Columns (comma separated, empty: any)', help: 'drop rows with nulls' },
  dedupe: { a: 'Key columns (comma separated, empty: whole rows)', help: 'drop duplicates' },
  aggregate: { a: 'Group by (comma separated)', b: 'Aggregations, e.g. count, sum:amount', help: '' },
  sort: { a: 'Column', b: 'asc or desc', help: '' },
  limit: { a: 'Rows', help: '' },
};

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

export function stepFromRow(row: StepRow): Record<string, unknown> {
  switch (row.op) {
    case 'filter':
      return { op: 'filter', expr: row.a };
    case 'derive':
      return { op: 'derive', column: row.a, expr: row.b };
    case 'select':
      return { op: 'select', columns: list(row.a) };
    case 'drop_null':
      return list(row.a).length ? { op: 'drop_null', columns: list(row.a) } : { op: 'drop_null' };
    case 'dedupe':
      return list(row.a).length ? { op: 'dedupe', columns: list(row.a) } : { op: 'dedupe' };
    case 'aggregate':
      return {
        op: 'aggregate',
        group_by: list(row.a),
        aggregations: list(row.b).map((item) => {
          const [op = 'count', column] = item.split(':').map((x) => x.trim());
          return column ? { op, column } : { op };
        }),
      };
    case 'sort':
      return { op: 'sort', by: [{ column: row.a, desc: row.b.trim().toLowerCase() === 'desc' }] };
    case 'limit':
      return { op: 'limit', n: Number(row.a) };
    default:
      return { op: row.op };
  }
}

export function specFrom(source: string, sink: string, rows: StepRow[]): Record<string, unknown> {
  return { source: { dataset: source }, steps: rows.map(stepFromRow), sink: { dataset: sink } };
}
