import type SQLite from 'better-sqlite3';

/**
 * kysely prepares every statement anew; preparing costs more than running the small queries the
 * bridge makes. The same SQL text reuses its prepared statement (a bounded, least-recently-used
 * set), unless that statement is still iterating rows for a streamed query.
 */
export function withStatementCache(database: SQLite.Database, capacity = 500) {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close(): void {
      statements.clear();
      database.close();
    },
    prepare(sql: string): SQLite.Statement {
      const cached = statements.get(sql);
      if (cached && !cached.busy) {
        statements.delete(sql);
        statements.set(sql, cached); // most recently used goes last
        return cached;
      }
      const statement = database.prepare(sql);
      if (!cached) {
        statements.set(sql, statement);
        if (statements.size > capacity) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
      }
      return statement;
    },
  };
}
