import { describe, expect, it } from 'vitest';
import { changeKind, cleanSpec, errorsByStep, parseSpecText, specText, STEP_KINDS, type Spec } from './pipelineForm';

const spec: Spec = {
  source: { dataset: 'orders' },
  steps: [
    { op: 'filter', expr: 'amount > 0' },
    { op: 'drop_null', columns: [] },
    { op: 'join', dataset: 'countries', on: ['country'], how: 'left', right_on: [] },
    { op: 'aggregate', group_by: ['country'], aggregations: [{ op: 'count' }, { op: 'sum', column: 'amount' }] },
  ],
  sink: { dataset: 'revenue' },
};

describe('pipeline form', () => {
  it('leaves out the optional lists left empty', () => {
    expect(cleanSpec(spec).steps).toEqual([
      { op: 'filter', expr: 'amount > 0' },
      { op: 'drop_null' },
      { op: 'join', dataset: 'countries', on: ['country'], how: 'left' },
      spec.steps[3],
    ]);
  });

  it('round-trips through JSON and YAML', () => {
    for (const format of ['json', 'yaml'] as const) {
      const parsed = parseSpecText(specText(spec, format), format);
      expect(parsed).toEqual({ spec: cleanSpec(spec) });
    }
  });

  it('says what is wrong with the text', () => {
    expect(parseSpecText('{"source": ', 'json')).toMatchObject({ error: expect.stringMatching(/^JSON: /) });
    expect(parseSpecText('source: [a', 'yaml')).toMatchObject({ error: expect.stringMatching(/^YAML: /) });
    expect(parseSpecText('[]', 'json')).toEqual({ error: 'The spec must be a mapping with source, steps and sink' });
    expect(parseSpecText('source: {dataset: a}\nsink: {dataset: b}\nsteps: [{n: 1}]', 'yaml'))
      .toEqual({ error: 'steps.0: each step needs an op' });
  });

  it('offers every step kind the engine runs, each starting valid in shape', () => {
    expect(Object.keys(STEP_KINDS).sort()).toEqual(['aggregate', 'cast', 'dedupe', 'derive', 'drop_null', 'embed',
      'fill_null', 'filter', 'join', 'limit', 'predict', 'rename', 'sample', 'select', 'sort']);
    expect(changeKind('sample')).toEqual({ op: 'sample', fraction: 0.1, seed: 0 });
  });

  it('groups the API field errors by step', () => {
    const byStep = errorsByStep([
      { loc: ['body', 'spec', 'steps', '2', 'columns'], msg: "unknown column 'x'" },
      { loc: ['body', 'spec', 'sink', 'dataset'], msg: 'required' },
    ]);
    expect(byStep.get(2)).toEqual(["columns: unknown column 'x'"]);
    expect(byStep.get(-1)).toEqual(['sink.dataset: required']);
  });
});
