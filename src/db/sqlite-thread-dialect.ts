import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

/**
 * The thread that owns the SQLite connection. Requests come in batches of
 * [id, sql, parameters]; each is run in order and answered with
 * [id, 0, rows | null, changes, lastInsertRowid] or [id, 1, error].
 * Prepared statements are kept (least recently used go first): preparing costs more than
 * running the small queries the bridge makes.
 */
const SQLITE_THREAD = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path);
  for (const pragma of workerData.pragmas) db.pragma(pragma);
} catch (error) {
  // SQLite's own error class does not cross to the main thread; a plain Error with its text does.
  throw Object.assign(new Error(String(error && error.message)), { code: error && error.code });
}
const statements = new Map();
const prepare = (sql) => {
  let statement = statements.get(sql);
  if (statement) {
    statements.delete(sql);
    statements.set(sql, statement);
    return statement;
  }
  statement = db.prepare(sql);
  statements.set(sql, statement);
  if (statements.size > 500) statements.delete(statements.keys().next().value);
  return statement;
};
parentPort.on('message', (batch) => {
  if (batch === 'close') {
    statements.clear();
    db.close();
    parentPort.close();
    return;
  }
  const answers = [];
  for (const [id, sql, parameters] of batch) {
    try {
      const statement = prepare(sql);
      if (statement.reader) answers.push([id, 0, statement.all(parameters)]);
      else {
        const { changes, lastInsertRowid } = statement.run(parameters);
        answers.push([id, 0, null, changes, lastInsertRowid]);
      }
    } catch (error) {
      answers.push([id, 1, { message: String(error && error.message), code: error && error.code, name: error && error.name }]);
    }
  }
  parentPort.postMessage(answers);
});
`;

type Answer =
  | [id: number, failed: 0, rows: Record<string, unknown>[] | null, changes?: number, lastInsertRowid?: number | bigint]
  | [id: number, failed: 1, error: { message: string; code?: string; name?: string }];

type Pending = { resolve(result: QueryResult<unknown>): void; reject(error: Error): void };

export type SqliteThreadOptions = {
  path: string;
  /** Run, in order, when the connection opens (e.g. `journal_mode = WAL`). */
  pragmas: readonly string[];
  /** The thread stopped without being closed: from now on every statement fails. Called once. */
  onFailure?: (error: Error) => void;
};

/**
 * SQLite through kysely, with the connection in a worker thread: statements (and the fsync of
 * each commit under SQLITE_SYNCHRONOUS=FULL) no longer stop the event loop, so webhooks are
 * acknowledged, paced sends go out on time and Slack requests are answered while the database
 * works. Statements are sent in the order they are issued and run one at a time, as on a single
 * in-process connection; while a transaction is open, only its own statements are sent.
 */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly options: SqliteThreadOptions) {}
  createDriver(): Driver {
    return new SqliteThreadDriver(this.options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class SqliteThreadDriver implements Driver {
  private worker: Worker | null = null;
  private failure: Error | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private outbox: [number, string, readonly unknown[]][] = [];
  private transactionOwner: SqliteThreadConnection | null = null;
  private transactionWaiters: (() => void)[] = [];

  constructor(private readonly options: SqliteThreadOptions) {}

  async init(): Promise<void> {
    const worker = new Worker(SQLITE_THREAD, {
      eval: true,
      workerData: {
        path: this.options.path,
        pragmas: this.options.pragmas,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      },
    });
    worker.unref(); // referenced only while statements are waiting for answers
    worker.on('message', (answers: Answer[]) => this.settle(answers));
    worker.on('error', (error: unknown) =>
      this.fail(error instanceof Error ? error : new Error(`the SQLite thread failed: ${String(error)}`)),
    );
    worker.on('exit', (code) => this.fail(new Error(`the SQLite thread stopped (exit code ${code})`)));
    this.worker = worker;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SqliteThreadConnection(this);
  }

  beginTransaction(connection: DatabaseConnection): Promise<void> {
    const own = connection as SqliteThreadConnection;
    if (this.transactionOwner !== null) return this.nextTurn().then(() => this.beginTransaction(own));
    // Taken and begun in one step: nothing else can be sent between the check and the `begin`.
    this.transactionOwner = own;
    return this.send('begin', []).then(
      () => undefined,
      (error: unknown) => {
        this.endTransaction();
        throw error;
      },
    );
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'));
    } finally {
      this.endTransaction();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.endTransaction();
    }
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    if (this.failure) return; // the thread is gone already: nothing to close, nothing to wait for
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // the process waits for the connection to close
    worker.postMessage('close');
    await exited;
  }

  /**
   * Sends a statement, after any other connection's open transaction ends (its statements must
   * not mix with ours). The check and the send happen in one step, so a transaction begun
   * meanwhile cannot take in a statement that is not its own.
   */
  execute(
    connection: SqliteThreadConnection,
    sql: string,
    parameters: readonly unknown[],
  ): Promise<QueryResult<unknown>> {
    if (this.transactionOwner === null || this.transactionOwner === connection) return this.send(sql, parameters);
    return this.nextTurn().then(() => this.execute(connection, sql, parameters));
  }

  private nextTurn(): Promise<void> {
    return new Promise<void>((resolve) => this.transactionWaiters.push(resolve));
  }

  private send(sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.worker) return Promise.reject(new Error('the database is closed'));
    const id = this.nextId++;
    const answer = new Promise<QueryResult<unknown>>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    // Statements issued in the same turn of the event loop travel in one message.
    if (this.outbox.push([id, sql, parameters]) === 1) queueMicrotask(() => this.flush());
    return answer;
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length > 0) this.worker?.postMessage(batch);
  }

  private settle(answers: Answer[]): void {
    for (const answer of answers) {
      const waiter = this.pending.get(answer[0]);
      if (!waiter) continue;
      this.pending.delete(answer[0]);
      if (answer[1] === 1) {
        waiter.reject(Object.assign(new Error(answer[2].message), { code: answer[2].code, name: answer[2].name }));
        continue;
      }
      const [, , rows, changes, lastInsertRowid] = answer;
      waiter.resolve(
        rows !== null
          ? { rows: rows.map(withBuffers) }
          : {
              rows: [],
              numAffectedRows: changes === undefined ? undefined : BigInt(changes),
              insertId: lastInsertRowid === undefined ? undefined : BigInt(lastInsertRowid),
            },
      );
    }
    if (this.pending.size === 0) this.worker?.unref();
  }

  private fail(error: Error): void {
    if (!this.worker) return; // closed on purpose
    const first = this.failure === null;
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
    if (first) this.options.onFailure?.(this.failure);
  }

  private endTransaction(): void {
    this.transactionOwner = null;
    const waiters = this.transactionWaiters;
    this.transactionWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** BLOBs cross the thread boundary as plain Uint8Arrays; the bridge reads them as Buffers. */
function withBuffers(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const value = row[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value))
      row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}

class SqliteThreadConnection implements DatabaseConnection {
  constructor(private readonly driver: SqliteThreadDriver) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute(this, compiledQuery.sql, compiledQuery.parameters) as Promise<QueryResult<R>>;
  }

  /** All rows in one chunk (the bridge pages its large reads instead of streaming them). */
  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(compiledQuery);
  }
}
