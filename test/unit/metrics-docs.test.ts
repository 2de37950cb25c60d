import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/shared/metrics.js';

describe('metrics documentation', () => {
  it('lists every metric family the bridge exports in docs/operations.md', async () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');
    const metrics = createMetrics();
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((metric) => metric.name)
      // prom-client's default process metrics are documented as a group.
      .filter((name) => !/^bridge_(process|nodejs)_/.test(name));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
    expect(readme).toContain('`bridge_process_*`, `bridge_nodejs_*`');
  });
});
