import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../src/db/migrate.js';

/**
 * A year of data for `npm run bench -- scale`: contacts over two sending numbers, their messages
 * spread over the last 365 days, agents' My Sessions, and campaigns with their recipients. Written
 * straight into the database (the app's migrations first) with bulk paths: prepared multi-row
 * inserts in large transactions on SQLite, `insert … select * from unnest($1::text[], …)` on
 * PostgreSQL, so a million messages take a minute or two rather than hours.
 *
 * `extendMessages(from, to)` appends messages [from, to) and the contacts they need (one contact per
 * ten messages), so the growth curve measures the same database at 10k, 100k and 1M messages.
 */

export type ScaleTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** The fake Graph API's two numbers (test/support/fake-meta-graph.ts): the app lists these at start. */
export const SENDING_NUMBERS = [
  { id: '1906385232743451', phone: '+15550001111' },
  { id: '1906385232743452', phone: '+15550002222' },
] as const;
export const SCALE_CHANNEL = 'C0CONVERSATIONS';
export const DAY_MS = 24 * 60 * 60 * 1000;
export const AGENTS = 20;
export const SESSIONS_PER_AGENT = 100;
/** The campaign the export is measured on (the largest). */
export const BIG_CAMPAIGN_ID = 'scale-campaign-0';

/** Contact k's number: +44 77 1000 0000 + k (valid UK mobiles). */
export const contactPhone = (k: number) => `+4477${String(10_000_000 + k)}`;
export const contactsFor = (messages: number) => Math.max(100, Math.ceil(messages / 10));

const FIRST = ['Nora', 'Ana', 'Luis', 'Mei', 'Omar', 'Ivy', 'Raj', 'Zoe', 'Tom', 'Lea', 'Kai', 'Eva', 'Sam', 'Ada'];
const LAST = ['Souza', 'Smith', 'Garcia', 'Chen', 'Khan', 'Novak', 'Rossi', 'Kim', 'Silva', 'Ito', 'Berg', 'Diaz'];
const WORDS =
  'hello thanks order delivery tomorrow please price invoice refund when where address payment shipped size colour receipt'.split(
    ' ',
  );
const NOTES = ['Prefers Portuguese', 'VIP customer', 'Call after 6pm', 'Wholesale buyer', 'Asked for a refund'];

/** Deterministic per-index pseudo-random numbers in [0, 1): the same data every run. */
function rand(i: number, salt: number): number {
  let x = (i * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}
const pick = <T>(list: readonly T[], r: number) => list[Math.floor(r * list.length)] as T;

type Column = { name: string; pg: 'text' | 'int8' | 'int4' };
type Row = (string | number | null)[];

interface Writer {
  insert(table: string, columns: Column[], rows: Row[]): Promise<void>;
  exec(statement: string): Promise<void>;
  close(): Promise<void>;
}

async function openWriter(target: ScaleTarget): Promise<Writer> {
  if (target.kind === 'sqlite') {
    const db = new Database(target.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -200000');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
    await migrateToLatest(kysely);
    const statements = new Map<string, Database.Statement>();
    const PER_STATEMENT = 50;
    return {
      async insert(table, columns, rows) {
        const one = `(${columns.map(() => '?').join(',')})`;
        const statementFor = (n: number) => {
          const key = `${table}:${n}`;
          let statement = statements.get(key);
          if (!statement) {
            statement = db.prepare(
              `insert into ${table} (${columns.map((c) => `"${c.name}"`).join(',')}) values ${Array(n).fill(one).join(',')}`,
            );
            statements.set(key, statement);
          }
          return statement;
        };
        db.transaction(() => {
          for (let i = 0; i < rows.length; i += PER_STATEMENT) {
            const chunk = rows.slice(i, i + PER_STATEMENT);
            statementFor(chunk.length).run(chunk.flat());
          }
        })();
      },
      async exec(statement) {
        db.exec(statement);
      },
      async close() {
        db.pragma('wal_checkpoint(TRUNCATE)');
        // No ANALYZE: the app never runs it, so its SQLite plans queries without statistics.
        db.close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 2 });
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(kysely);
  await kysely.destroy();
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  await client.query('set synchronous_commit = off');
  return {
    async insert(table, columns, rows) {
      const arrays = columns.map((_, c) => rows.map((r) => r[c] ?? null));
      const params = columns.map((c, i) => `$${i + 1}::${c.pg}[]`).join(', ');
      await client.query(
        `insert into ${table} (${columns.map((c) => `"${c.name}"`).join(',')}) select * from unnest(${params})`,
        arrays,
      );
    },
    async exec(statement) {
      await client.query(statement);
    },
    async close() {
      // PostgreSQL's autovacuum would have analyzed a year's worth of writes.
      await client.query('analyze');
      await client.end();
    },
  };
}

const text = (name: string): Column => ({ name, pg: 'text' });
const int8 = (name: string): Column => ({ name, pg: 'int8' });
const int4 = (name: string): Column => ({ name, pg: 'int4' });

const CONTACT_COLUMNS = [
  text('id'),
  text('sending_number_id'),
  text('phone_number'),
  text('user_id'),
  text('profile_name'),
  text('note'),
  int8('last_inbound_at'),
  int8('last_message_at'),
  text('last_direction'),
  int8('created_at'),
  int8('updated_at'),
];
const MESSAGE_COLUMNS = [
  text('id'),
  text('contact_id'),
  text('direction'),
  text('kind'),
  text('body'),
  text('media_json'),
  text('provider_message_id'),
  text('slack_channel_id'),
  text('slack_ts'),
  text('status'),
  text('error_code'),
  text('error_detail'),
  int8('provider_timestamp'),
  text('source'),
  text('author_slack_user_id'),
  text('campaign_id'),
  int8('created_at'),
  int8('updated_at'),
];
const CAMPAIGN_COLUMNS = [
  text('id'),
  text('created_by'),
  text('slack_channel_id'),
  text('sending_number_id'),
  text('template_name'),
  text('template_language'),
  text('template_category'),
  text('parameters_json'),
  text('status'),
  int4('total'),
  int4('sent'),
  int4('delivered'),
  int4('read'),
  int4('failed'),
  int8('created_at'),
  int8('started_at'),
  int8('finished_at'),
];
const RECIPIENT_COLUMNS = [
  text('campaign_id'),
  text('phone_number'),
  text('parameters_json'),
  text('status'),
  text('provider_message_id'),
  text('error_code'),
  text('error_detail'),
  int4('attempts'),
  int8('updated_at'),
];

const contactId = (k: number) => `scale-contact-${k}`;
const BATCH = 10_000;

export class ScaleData {
  private constructor(
    private readonly writer: Writer,
    /** The year ends here: data is spread over [now - 365 days, now). */
    readonly now: number,
  ) {}

  static async open(target: ScaleTarget, now: number): Promise<ScaleData> {
    return new ScaleData(await openWriter(target), now);
  }

  private get start() {
    return this.now - 365 * DAY_MS;
  }

  /** Contacts [from, to): half on each sending number, a name each, a note on one in ten. */
  private async addContacts(from: number, to: number) {
    for (let b = from; b < to; b += BATCH) {
      const rows: Row[] = [];
      for (let k = b; k < Math.min(to, b + BATCH); k++) {
        const created = this.start + Math.floor(rand(k, 1) * 30 * DAY_MS);
        rows.push([
          contactId(k),
          (SENDING_NUMBERS[k % 2] as { id: string }).id,
          contactPhone(k),
          null,
          `${pick(FIRST, rand(k, 2))} ${pick(LAST, rand(k, 3))}`,
          k % 10 === 3 ? `${pick(NOTES, rand(k, 4))} #${k}` : null,
          null,
          null,
          null,
          created,
          created,
        ]);
      }
      await this.writer.insert('contact', CONTACT_COLUMNS, rows);
    }
  }

  /** Messages [from, to) with the contacts they need; each contact's activity columns brought up to date. */
  async extendMessages(from: number, to: number): Promise<void> {
    const contactsBefore = from === 0 ? 0 : contactsFor(from);
    const contacts = contactsFor(to);
    if (contacts > contactsBefore) await this.addContacts(contactsBefore, contacts);
    const span = this.now - this.start - 60_000;
    for (let b = from; b < to; b += BATCH) {
      const rows: Row[] = [];
      for (let i = b; i < Math.min(to, b + BATCH); i++) {
        const at = this.start + Math.floor(rand(i, 10) * span);
        const inbound = rand(i, 11) < 0.5;
        const sourceRoll = rand(i, 12);
        const source = inbound ? 'contact' : sourceRoll < 0.6 ? 'agent' : sourceRoll < 0.95 ? 'campaign' : 'api';
        const image = rand(i, 13) < 0.05;
        const statusRoll = rand(i, 14);
        const status = inbound ? 'received' : statusRoll < 0.03 ? 'failed' : statusRoll < 0.5 ? 'delivered' : 'read';
        const words = Array.from({ length: 4 + Math.floor(rand(i, 15) * 8) }, (_, w) => pick(WORDS, rand(i, 20 + w)));
        rows.push([
          `scale-msg-${i}`,
          contactId(Math.floor(rand(i, 16) * contacts)),
          inbound ? 'inbound' : 'outbound',
          image ? 'image' : source === 'campaign' ? 'template' : 'text',
          image ? null : words.join(' '),
          image ? JSON.stringify({ id: `media-${i}`, mime_type: 'image/jpeg' }) : null,
          `wamid.SCALE${i}`,
          inbound ? SCALE_CHANNEL : null,
          inbound ? `${1_600_000_000 + i}.000100` : null,
          status,
          status === 'failed' ? '131026' : null,
          status === 'failed' ? 'Message undeliverable' : null,
          at,
          source,
          source === 'agent' ? `UAGENT${1 + Math.floor(rand(i, 17) * AGENTS)}` : null,
          source === 'campaign' ? `scale-campaign-${Math.floor(rand(i, 18) * 500)}` : null,
          at,
          at,
        ]);
      }
      await this.writer.insert('message', MESSAGE_COLUMNS, rows);
    }
    // Activity columns as the app keeps them (All Sessions lists contacts with any message).
    await this.writer.exec(`update contact set
      last_message_at = (select max(m.created_at) from message m where m.contact_id = contact.id),
      last_inbound_at = (select max(m.created_at) from message m where m.contact_id = contact.id and m.direction = 'inbound'),
      last_direction = (select m.direction from message m where m.contact_id = contact.id order by m.created_at desc limit 1)`);
  }

  /** Each agent keeps the maximum of My Sessions, among the first contacts (present at every size). */
  async addSessions(contacts: number) {
    const rows: Row[] = [];
    for (let a = 1; a <= AGENTS; a++)
      for (let s = 0; s < SESSIONS_PER_AGENT; s++)
        rows.push([`UAGENT${a}`, contactId((a * 37 + s * 13) % contacts), this.start]);
    const unique = [...new Map(rows.map((r) => [`${r[0]}:${r[1]}`, r])).values()];
    await this.writer.insert('agent_session', [text('slack_user_id'), text('contact_id'), int8('created_at')], unique);
  }

  /**
   * Finished campaigns with `recipients` in all: the first (BIG_CAMPAIGN_ID) has 100,000 of them (or
   * a fifth of all when fewer), the rest share what is left.
   */
  async addCampaigns(campaigns: number, recipients: number) {
    const big = Math.min(100_000, Math.floor(recipients / 5));
    const each = Math.floor((recipients - big) / Math.max(1, campaigns - 1));
    const campaignRows: Row[] = [];
    for (let j = 0; j < campaigns; j++) {
      const total = j === 0 ? big : j === campaigns - 1 ? recipients - big - each * (campaigns - 2) : each;
      const at = this.start + Math.floor((j / campaigns) * 360 * DAY_MS);
      campaignRows.push([
        `scale-campaign-${j}`,
        'UMARKETER',
        SCALE_CHANNEL,
        (SENDING_NUMBERS[j % 2] as { id: string }).id,
        'hello_world',
        'en_US',
        'MARKETING',
        '{"body":[]}',
        'completed',
        total,
        total,
        Math.floor(total * 0.9),
        Math.floor(total * 0.5),
        total - Math.floor(total * 0.97),
        at,
        at,
        at + 3_600_000,
      ]);
    }
    for (let b = 0; b < campaignRows.length; b += 100)
      await this.writer.insert('campaign', CAMPAIGN_COLUMNS, campaignRows.slice(b, b + 100));
    for (let j = 0; j < campaigns; j++) {
      const total = Number(campaignRows[j]?.[9]);
      const at = Number(campaignRows[j]?.[14]);
      let offset = 0;
      while (offset < total) {
        const rows: Row[] = [];
        for (let r = offset; r < Math.min(total, offset + BATCH); r++) {
          const roll = rand(j * 1_000_003 + r, 30);
          const status = roll < 0.03 ? 'failed' : roll < 0.5 ? 'delivered' : roll < 0.9 ? 'read' : 'sent';
          rows.push([
            `scale-campaign-${j}`,
            contactPhone((j * 7919 + r) % 10_000_000),
            r % 4 === 0 ? `["${pick(FIRST, roll)}"]` : null,
            status,
            `wamid.SCALEC${j}.${r}`,
            status === 'failed' ? '131049' : null,
            status === 'failed' ? 'Not delivered to maintain healthy ecosystem engagement' : null,
            1,
            at + 60_000,
          ]);
        }
        await this.writer.insert('campaign_recipient', RECIPIENT_COLUMNS, rows);
        offset += BATCH;
      }
    }
  }

  async addSendingNumbers() {
    await this.writer.insert(
      'sending_number',
      [text('id'), text('provider'), text('phone_number'), text('health'), int8('updated_at')],
      SENDING_NUMBERS.map((n) => [n.id, 'meta', n.phone, 'unknown', this.now]),
    );
  }

  async close() {
    await this.writer.close();
  }
}
