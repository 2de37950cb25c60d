import { WebClient } from '@slack/web-api';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackDirectory } from '../../src/slack/slack-directory.js';

/**
 * The role checks' view of Slack (users.info, usergroups.users.list), over the same WebClient the
 * app uses. The client speaks fetch, which nock intercepts: each test states exactly which calls
 * Slack receives, and fails on any other (nock.disableNetConnect).
 */

const SLACK = 'https://slack.test';
const client = () =>
  new WebClient('xoxb-directory-test', { slackApiUrl: `${SLACK}/api/`, retryConfig: { retries: 0 } });

const userInfo = (user: Record<string, unknown>) => ({ ok: true, user: { id: 'U1', deleted: false, ...user } });

describe('the Slack directory behind role checks', () => {
  let now = 1_000_000;
  beforeAll(() => {
    nock.disableNetConnect();
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });
  afterEach(() => {
    expect(nock.pendingMocks(), 'every expected Slack call was made').toEqual([]);
    nock.cleanAll();
    now = 1_000_000;
  });

  it('asks users.info once per user per minute, however many checks come in together', async () => {
    const scope = nock(SLACK)
      .post('/api/users.info', (body) => body.user === 'U1')
      .once()
      .reply(200, userInfo({ is_admin: true }));
    const directory = createSlackDirectory({ client: client(), ttlMs: 60_000, now: () => now });
    const answers = await Promise.all(Array.from({ length: 5 }, () => directory.account('U1')));
    expect(answers.every((a) => a?.isAdmin === true && !a.deleted)).toBe(true);
    now += 59_000;
    expect((await directory.account('U1'))?.isAdmin).toBe(true);
    scope.done();

    // A minute on, Slack is asked again: a deactivation shows within the minute.
    nock(SLACK)
      .post('/api/users.info')
      .reply(200, userInfo({ deleted: true }));
    now += 2_000;
    expect((await directory.account('U1'))?.deleted).toBe(true);
  });

  it('reads owners as admins and both kinds of guest as guests', async () => {
    nock(SLACK)
      .post('/api/users.info')
      .reply(200, userInfo({ is_primary_owner: true }))
      .post('/api/users.info')
      .reply(200, userInfo({ id: 'U2', is_ultra_restricted: true, team_id: 'T0PARTNER' }));
    const directory = createSlackDirectory({ client: client(), ttlMs: 60_000, now: () => now });
    expect(await directory.account('U1')).toEqual({
      deleted: false,
      isBot: false,
      isAdmin: true,
      isGuest: false,
      teamId: null,
    });
    expect(await directory.account('U2')).toMatchObject({ isGuest: true, teamId: 'T0PARTNER' });
  });

  it('answers null for a user Slack does not know, and keeps no failure: the next check asks again', async () => {
    nock(SLACK)
      .post('/api/users.info')
      .reply(200, { ok: false, error: 'user_not_found' })
      .post('/api/users.info')
      .reply(200, { ok: false, error: 'ratelimited' })
      .post('/api/users.info')
      .reply(200, userInfo({}));
    const directory = createSlackDirectory({ client: client(), ttlMs: 60_000, now: () => now });
    expect(await directory.account('UGONE')).toBeNull();
    await expect(directory.account('U1')).rejects.toThrow(/ratelimited/);
    expect((await directory.account('U1'))?.isAdmin).toBe(false);
  });

  it('lists a user group once a minute', async () => {
    nock(SLACK)
      .post('/api/usergroups.users.list', (body) => body.usergroup === 'S1')
      .once()
      .reply(200, { ok: true, users: ['U1', 'U2'] });
    const directory = createSlackDirectory({ client: client(), ttlMs: 60_000, now: () => now });
    expect(await directory.groupMembers('S1')).toEqual(['U1', 'U2']);
    expect(await directory.groupMembers('S1')).toEqual(['U1', 'U2']);
  });
});
