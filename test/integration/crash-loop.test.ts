import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-db.js';
import type { AppProcess } from '../support/app-process.js';
import { SIGNING_SECRET } from '../support/bridge-harness.js';
import { createSqliteDatabase, dialects, type TestDatabase } from '../support/databases.js';
import type { FakeMetaGraph } from '../support/fake-meta-graph.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { startProcessStack, stopProcessStack } from '../support/process-stack.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();
/** The campaign preparation job's attempt budget (src/app.ts, queuePreparation). */
const PREPARE_ATTEMPTS = 5;

type StoredView = { id: string; hash: string; view: { private_metadata?: string; callback_id?: string } };

for (const dialect of cases) {
  describe.runIf(dialect.available)(`a job that takes the process down, on ${dialect.name}`, () => {
    let slack: FakeSlack;
    let meta: FakeMetaGraph;
    let database: TestDatabase;
    let app: AppProcess;
    beforeAll(async () => {
      ({ slack, meta, database, app } = await startProcessStack({
        database: dialect.name === 'sqlite' ? createSqliteDatabase() : await dialect.create(),
        // PostgreSQL has no restart release (replicas): an abandoned job is taken back after its lease.
        settings: { WORK_LEASE_MS: '2000', MARKETERS: 'UMARKETER' },
      }));
      slack.addUser({ id: 'UMARKETER', name: 'marketer' });
    }, 60_000);
    afterAll(async () => {
      await stopProcessStack({ slack, meta, database, app });
    });

    const stalledDownloads = () => slack.downloads.filter((d) => d.id === 'FSTALLED').length;

    /** `/wa send` up to the submission of a recipients file whose download never finishes. */
    async function submitStalledFile(): Promise<string> {
      const before = new Set(slack.views.keys());
      await postSlack(app.url, slashCommand(SIGNING_SECRET, { text: 'send', userId: 'UMARKETER' }));
      const form = await waitFor('campaign form', () =>
        [...(slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_campaign_form',
        ),
      );
      for (const [actionId, value] of [
        ['cmp_number_select', '1906385232743451'],
        ['tpl_template_select', 'hello_world'],
      ]) {
        const current = slack.views.get(form.id) as StoredView;
        // The fake updates views in place: keep the hash as it was before the action.
        const hash = current.hash;
        await postSlack(
          app.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId: 'UMARKETER',
              actionId: actionId ?? '',
              selectedOption: value ?? '',
              view: {
                id: form.id,
                hash,
                callbackId: 'wa_campaign_form',
                privateMetadata: current.view.private_metadata ?? '{}',
              },
            }),
          ),
        );
        await waitFor(`${actionId}`, () => (slack.views.get(form.id) as StoredView).hash !== hash);
      }
      // Slack accepts the download and never answers: the preparation is reliably mid-run when
      // the test kills the process.
      const file = slack.addFile({
        id: 'FSTALLED',
        name: 'recipients.csv',
        mimetype: 'text/csv',
        bytes: Buffer.alloc(0),
      });
      slack.stallDownloads('FSTALLED');
      const submitted = await postSlack(
        app.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: form.id,
            callbackId: 'wa_campaign_form',
            privateMetadata: (slack.views.get(form.id) as StoredView).view.private_metadata ?? '{}',
            values: {
              cmp_recipients_file: { file: { type: 'file_input', files: [file] } },
              'tpl_var:body.1': { value: { type: 'plain_text_input', value: 'friend' } },
            },
          }),
        ),
      );
      expect(JSON.stringify(submitted.json)).toContain('"update"');
      return form.id;
    }

    it(`fails the job after ${PREPARE_ATTEMPTS} runs that each ended with the process killed, and tells its creator`, async () => {
      const viewId = await submitStalledFile();
      // Each run downloads the file, and the process dies mid-run (kill -9), as an out-of-memory would.
      for (let run = 1; run <= PREPARE_ATTEMPTS; run++) {
        await waitFor(`run ${run} started`, () => stalledDownloads() >= run, 30_000);
        await app.kill9();
        await app.start();
      }
      const problem = await waitFor(
        'the modal says the file could not be processed',
        () => {
          const text = JSON.stringify((slack.views.get(viewId) as StoredView).view);
          return text.includes('could not be processed') ? text : null;
        },
        30_000,
      );
      expect(problem).toContain(`interrupted ${PREPARE_ATTEMPTS} times`);
      expect(problem).toContain('Nothing was sent');
      const dm = await waitFor('DM to the creator', () =>
        slack.messages('DUMARKETER').find((m) => m.text.includes('could not be processed')),
      );
      expect(dm.text).toContain('Nothing was sent');

      // Past another lease and poll: the job is not claimed again, and the app keeps serving.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(stalledDownloads(), 'the handler ran once per attempt, never after').toBe(PREPARE_ATTEMPTS);
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      const handle = createDatabase(database.target);
      try {
        const job = await handle.db
          .selectFrom('job')
          .select(['status', 'attempts', 'max_attempts', 'last_error'])
          .where('kind', '=', 'campaign.prepare')
          .executeTakeFirstOrThrow();
        expect(job).toMatchObject({ status: 'failed', attempts: PREPARE_ATTEMPTS + 1, max_attempts: PREPARE_ATTEMPTS });
        expect(job.last_error).toMatch(/interrupted/);
        expect(await handle.db.selectFrom('campaign').select('id').execute(), 'no draft was made').toEqual([]);
      } finally {
        await handle.close();
      }
      console.info(
        `crash loop on ${dialect.name}: ${stalledDownloads()} runs killed, then failed on claim ${PREPARE_ATTEMPTS + 1}`,
      );
    }, 240_000);
  });
}
