import { ConfigError, parseDatabaseUrl, readEnvironment } from '../config.js';
import { createDatabase } from './create-db.js';
import { migrateToLatest } from './migrate.js';

/** `npm run migrate`: needs only DATABASE_URL, so it can run before the rest is configured. */
async function main(): Promise<void> {
  const env = readEnvironment(process.env, '.env');
  const handle = createDatabase(parseDatabaseUrl(env.DATABASE_URL));
  try {
    const results = await migrateToLatest(handle.db);
    const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
    process.stdout.write(
      applied.length ? `applied migrations: ${applied.join(', ')}\n` : 'database is already up to date\n',
    );
  } finally {
    await handle.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
