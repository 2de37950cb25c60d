import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_LATENESS_MS, SEND_PACE } from '../../src/bridge/campaigns/campaign-ports.js';
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

    it('hands out one schedule of evenly spaced slots across processes: started up to the lateness allowed, any second stays under the limit', async () => {
      const a = createSendBudgetStore(first.db);
      const b = createSendBudgetStore(second.db);
      const limit = 50;
      const slots: number[] = [];
      const start = 1_900_000_000_000;
      for (let t = 0; t < 3000; t += 7) {
        const now = start + t;
        for (const grant of await Promise.all([
          a.take('pn-slots', 5, limit, now, 40),
          b.take('pn-slots', 5, limit, now, 40),
        ])) {
          for (let i = 0; i < grant.granted; i++) slots.push(grant.firstSlotAt + i * grant.spacingMs);
          if (grant.granted > 0) {
            expect(grant.firstSlotAt).toBeGreaterThanOrEqual(now); // never in the past
            expect(grant.firstSlotAt).toBeLessThan(now + 40); // never beyond the lookahead
          }
        }
      }
      slots.sort((x, y) => x - y);
      const spacing = 1000 / (limit * SEND_PACE);
      for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(spacing - 0.001);
      // Each send may start up to SEND_LATENESS_MS after its slot: no second can hold more than the limit.
      let windowStart = 0;
      for (let end = 0; end < slots.length; end++) {
        while (slots[end]! - slots[windowStart]! >= 1000 + SEND_LATENESS_MS) windowStart++;
        expect(end - windowStart + 1).toBeLessThanOrEqual(limit);
      }
      expect(slots.length).toBeGreaterThanOrEqual(Math.floor(2.9 * limit * SEND_PACE));
    });
  });
}
