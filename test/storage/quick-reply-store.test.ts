import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createQuickReplyStore } from '../../src/db/stores/quick-reply-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`quick reply store on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    let store: ReturnType<typeof createQuickReplyStore>;

    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
      await migrateToLatest(handle.db);
      store = createQuickReplyStore(handle.db);
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    const add = (id: string, title: string, body = 'text') =>
      store.create({ id, draft: { title, body }, by: 'U1', now: 1 });

    it('keeps titles unique ignoring case and spacing, on create and on rename', async () => {
      expect(await add('a', 'Opening hours')).toBe('created');
      expect(await add('b', ' opening  HOURS')).toBe('duplicate_title');
      expect(await add('c', 'Prices')).toBe('created');
      expect(await store.update('c', { draft: { title: 'OPENING hours', body: 'x' }, by: 'U2', now: 2 })).toBe(
        'duplicate_title',
      );
      expect(await store.update('c', { draft: { title: 'Prices 2025', body: 'y' }, by: 'U2', now: 2 })).toBe('updated');
      expect(await store.get('c')).toMatchObject({
        title: 'Prices 2025',
        body: 'y',
        created_by: 'U1',
        updated_by: 'U2',
      });
      expect(await store.update('missing', { draft: { title: 'Z', body: 'z' }, by: 'U2', now: 2 })).toBe('missing');
    });

    it('lists by title ignoring case, a page at a time, and searches title and text literally', async () => {
      await add('d', 'apples', 'We sell 100% ORGANIC fruit');
      await add('e', 'Bananas', 'Ripe_yellow');
      const page = await store.list({ offset: 1, limit: 2 });
      expect(page.total).toBe(4);
      expect(page.rows.map((r) => r.title)).toEqual(['Bananas', 'Opening hours']);
      expect((await store.list({ offset: 0, limit: 10, search: 'organic' })).rows.map((r) => r.id)).toEqual(['d']);
      expect((await store.list({ offset: 0, limit: 10, search: 'PRICES' })).rows.map((r) => r.id)).toEqual(['c']);
      expect((await store.list({ offset: 0, limit: 10, search: '0%' })).rows.map((r) => r.id)).toEqual(['d']);
      expect((await store.list({ offset: 0, limit: 10, search: 'e_y' })).rows.map((r) => r.id)).toEqual(['e']);
      expect(await store.list({ offset: 0, limit: 10, search: 'a_p' })).toEqual({ rows: [], total: 0 });
    });

    it('deletes once', async () => {
      expect(await store.remove('d')).toBe(true);
      expect(await store.remove('d')).toBe(false);
      expect(await store.get('d')).toBeUndefined();
    });
  });
}
