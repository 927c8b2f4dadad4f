/** The pipeline builder's model: the spec itself (what the API takes) is the form's state,
 * so the form, the JSON and the YAML views are three editors of one value. */
import { parse, stringify } from 'yaml';

export type Step = { op: string; [field: string]: unknown };
export type Spec = {
  source: { dataset: string; version?: number };
  steps: Step[];
  sink: { dataset: string; description?: string };
};

export const AGG_OPS = ['count', 'sum', 'mean', 'min', 'max', 'std', 'quantile', 'count_distinct'] as const;
/** The column types an upload override or a cast may name. */
export const TYPES = ['string', 'int', 'float', 'bool', 'date', 'timestamp'] as const;

/** Every step kind the engine runs, with what a new one starts as. */
export const STEP_KINDS: Record<string, { label: string; make: () => Step }> = {
  filter: { label: 'filter: keep rows where…', make: () => ({ op: 'filter', expr: '' }) },
  derive: { label: 'derive: add a computed column', make: () => ({ op: 'derive', column: '', expr: '' }) },
  select: { label: 'select: keep columns', make: () => ({ op: 'select', columns: [] }) },
  rename: { label: 'rename columns', make: () => ({ op: 'rename', mapping: {} }) },
  cast: { label: 'cast: change column types', make: () => ({ op: 'cast', columns: {}, on_error: 'fail' }) },
  fill_null: { label: 'fill_null: replace missing values', make: () => ({ op: 'fill_null', values: {} }) },
  drop_null: { label: 'drop_null: drop rows with missing values', make: () => ({ op: 'drop_null' }) },
  dedupe: { label: 'dedupe: drop duplicate rows', make: () => ({ op: 'dedupe' }) },
  join: { label: 'join another dataset', make: () => ({ op: 'join', dataset: '', on: [], how: 'inner' }) },
  aggregate: { label: 'aggregate: group and summarise', make: () => ({ op: 'aggregate', group_by: [], aggregations: [{ op: 'count' }] }) },
  sort: { label: 'sort rows', make: () => ({ op: 'sort', by: [{ column: '', desc: false }] }) },
  limit: { label: 'limit: first N rows', make: () => ({ op: 'limit', n: 100 }) },
  sample: { label: 'sample: a random fraction', make: () => ({ op: 'sample', fraction: 0.1, seed: 0 }) },
  predict: { label: 'predict with a model', make: () => ({ op: 'predict', model: '', output: 'prediction' }) },
  embed: { label: 'embed a text column', make: () => ({ op: 'embed', column: '', output: 'embedding' }) },
};

export function emptySpec(source = '', sink = ''): Spec {
  return { source: { dataset: source }, steps: [], sink: { dataset: sink } };
}

/** A step switched to another kind keeps nothing of the old one. */
export function changeKind(op: string): Step {
  return (STEP_KINDS[op]?.make ?? (() => ({ op })))();
}

/** Optional lists left empty mean "all" (drop_null, dedupe): the API wants them absent. */
export function cleanStep(step: Step): Step {
  const out: Step = { ...step };
  for (const key of ['columns', 'right_on'] as const) {
    if ((out.op === 'drop_null' || out.op === 'dedupe' || key === 'right_on') && Array.isArray(out[key]) && !(out[key] as unknown[]).length) delete out[key];
  }
  for (const key of ['alias', 'version', 'description']) if (out[key] === '' || out[key] === null) delete out[key];
  return out;
}

export function cleanSpec(spec: Spec): Spec {
  return { ...spec, steps: spec.steps.map(cleanStep) };
}

export function specText(spec: Spec, format: 'json' | 'yaml'): string {
  const clean = cleanSpec(spec);
  return format === 'json' ? JSON.stringify(clean, null, 2) : stringify(clean);
}

/** Parse the JSON/YAML view; the message says what is wrong and where. */
export function parseSpecText(text: string, format: 'json' | 'yaml'): { spec: Spec } | { error: string } {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : parse(text);
  } catch (e) {
    return { error: `${format.toUpperCase()}: ${(e as Error).message.split('\n')[0]}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'The spec must be a mapping with source, steps and sink' };
  const v = value as Partial<Spec>;
  if (typeof v.source !== 'object' || v.source === null) return { error: 'source: required, e.g. {dataset: events}' };
  if (typeof v.sink !== 'object' || v.sink === null) return { error: 'sink: required, e.g. {dataset: events_clean}' };
  if (v.steps !== undefined && !Array.isArray(v.steps)) return { error: 'steps: must be a list' };
  const steps = (v.steps ?? []) as unknown[];
  const bad = steps.findIndex((s) => typeof s !== 'object' || s === null || typeof (s as Step).op !== 'string');
  if (bad >= 0) return { error: `steps.${bad}: each step needs an op` };
  return { spec: { source: v.source, sink: v.sink, steps: steps as Step[] } as Spec };
}

/** Field errors of a 422 from the API, by step index (-1: source, sink or the spec itself). */
export function errorsByStep(errors: { loc: string[]; msg: string }[] | undefined): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const e of errors ?? []) {
    const at = e.loc.indexOf('steps');
    const index = at >= 0 && e.loc[at + 1] !== undefined ? Number(e.loc[at + 1]) : -1;
    const field = at >= 0 ? e.loc.slice(at + 2).join('.') : e.loc.slice(2).join('.');
    out.set(index, [...(out.get(index) ?? []), field ? `${field}: ${e.msg}` : e.msg]);
  }
  return out;
}
