import { caseKey } from './format.js';
import type { Measurement, Role } from './suite.js';

/** The name under which qkv's own measurements are recorded; peers are compared to it. */
export const QKV = 'qkv';

/**
 * What a measurement is beside qkv's op on the same case: `qkv` itself, else the role the
 * suite gave, else `variant` for names starting with `qkv` (`qkv materialised`) and `peer` for
 * the rest (files written before roles existed read the same way).
 */
export function roleOf(m: Measurement): Role | 'qkv' {
  if (m.name === QKV) return 'qkv';
  return m.role ?? (m.name.startsWith(QKV) ? 'variant' : 'peer');
}

/** Measurements of the same case (suite and params), in first-seen order. */
export function groupByCase(measurements: readonly Measurement[]): Measurement[][] {
  const groups = new Map<string, Measurement[]>();
  for (const m of measurements) {
    const key = caseKey(m.suite, m.params);
    const group = groups.get(key);
    if (group) group.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.values()];
}

/**
 * Median time of a peer or variant `m` over qkv's median on the same case: above 1 means qkv
 * is faster, below 1 the other is. `undefined` when qkv did not run that case, and for qkv
 * itself and the parts of its op.
 */
export function timeOverQkv(m: Measurement, group: readonly Measurement[]): number | undefined {
  const role = roleOf(m);
  if (role !== 'peer' && role !== 'variant') return undefined;
  const ours = group.find((g) => g.name === QKV);
  return ours ? m.medianMs / ours.medianMs : undefined;
}

export interface RunDelta {
  suite: string;
  name: string;
  params: Measurement['params'];
  before: Measurement;
  after: Measurement;
  /** after / before median time: below 1 is faster. */
  ratio: number;
}

/** Cases measured in both runs under the same name, with the change in median time. */
export function compareRuns(
  before: readonly Measurement[],
  after: readonly Measurement[],
): RunDelta[] {
  const index = new Map(before.map((m) => [`${caseKey(m.suite, m.params)}|${m.name}`, m]));
  const deltas: RunDelta[] = [];
  for (const m of after) {
    const old = index.get(`${caseKey(m.suite, m.params)}|${m.name}`);
    if (old) {
      deltas.push({
        suite: m.suite,
        name: m.name,
        params: m.params,
        before: old,
        after: m,
        ratio: m.medianMs / old.medianMs,
      });
    }
  }
  return deltas;
}
