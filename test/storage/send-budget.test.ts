import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createSendBudgetStore } from '../../src/db/stores/send-budget-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`send budget on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let first: DatabaseHandle;
    let second: DatabaseHandle;
    beforeAll(async () => {
      testDb = await dialect.create();
      first = createDatabase(testDb.target);
      second = createDatabase(testDb.target);
      await migrateToLatest(first.db);
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await testDb?.drop();
    });

    it('never grants more than the limit within any second, across two processes sharing the database', async () => {
      const a = createSendBudgetStore(first.db);
      const b = createSendBudgetStore(second.db);
      const grants: { at: number; n: number }[] = [];
      const start = 1_800_000_000_000;
      // Simulated time: both takers ask every 10 ms for 2.5 s.
      for (let t = 0; t < 2500; t += 10) {
        const now = start + t;
        const [x, y] = await Promise.all([a.take('pn', 20, 100, now), b.take('pn', 20, 100, now)]);
        grants.push({ at: now, n: x.granted + y.granted });
      }
      for (const grant of grants) {
        const inWindow = grants
          .filter((g) => g.at > grant.at - 1000 && g.at <= grant.at)
          .reduce((sum, g) => sum + g.n, 0);
        expect(inWindow).toBeLessThanOrEqual(100);
      }
      expect(grants.reduce((sum, g) => sum + g.n, 0)).toBeGreaterThanOrEqual(200);
    });
  });
}
