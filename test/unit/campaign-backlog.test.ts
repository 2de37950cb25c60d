import { describe, expect, it } from 'vitest';
import { type ClaimedRecipient, createCampaignBacklog } from '../../src/bridge/campaigns/campaign-backlog.js';
import { createRecipientLeases } from '../../src/bridge/campaigns/campaign-leases.js';
import type {
  CampaignRecipientRecord,
  CampaignRecord,
  CampaignRepository,
} from '../../src/bridge/campaigns/campaign-ports.js';
import type { TemplateCatalog } from '../../src/bridge/templates.js';
import { createLogger } from '../../src/shared/logger.js';

/**
 * A claim of recipients is all or nothing for the backlog: when a database write fails between
 * claiming and queuing them, none of the claim stays held by this worker (its lease renewed
 * forever) without being sent: each goes back to the queue.
 */

const campaign = {
  id: 'c1',
  sending_number_id: 'n1',
  template_name: 'hello_world',
  template_language: 'en_US',
  parameters_json: '{"values":{"body.1":"you"},"headerMedia":null}',
  created_by: 'UMARKETER',
} as CampaignRecord;
const recipient = (id: number) =>
  ({
    id,
    campaign_id: 'c1',
    phone_number: `+4479111${id}`,
    parameters_json: null,
    attempts: 1,
  }) as CampaignRecipientRecord;

function backlogWith(failing: { markStarted?: boolean; recordFailed?: boolean }) {
  const claimed = [recipient(1), recipient(2), recipient(3)];
  const repository = {
    claimRecipients: async () => claimed,
    markStarted: async () => {
      if (failing.markStarted) throw new Error('database unavailable');
    },
    recordFailed: async () => {
      if (failing.recordFailed) throw new Error('database unavailable');
    },
    renewLeases: async () => {},
  } as unknown as CampaignRepository;
  // No approved template: each recipient is recorded as failed (the write that can fail).
  const catalog = { find: async () => undefined } as unknown as TemplateCatalog;
  const logger = createLogger('silent');
  const leases = createRecipientLeases({
    campaigns: repository,
    workerId: 'w1',
    leaseMs: 60_000,
    now: Date.now,
    logger,
  });
  const released: number[] = [];
  const settled: number[] = [];
  const backlog = createCampaignBacklog({
    campaigns: repository,
    catalog,
    workerId: 'w1',
    leaseMs: 60_000,
    idleDelayMs: 200,
    now: Date.now,
    logger,
    leases,
    settle: (c: ClaimedRecipient) => {
      leases.letGo(c.recipient.id);
      settled.push(c.recipient.id);
    },
    release: (c: ClaimedRecipient) => {
      leases.letGo(c.recipient.id);
      released.push(c.recipient.id);
    },
    onFinished: () => {},
    onActiveChanged: () => {},
  });
  return { backlog, leases, released, settled };
}

describe('claiming campaign recipients into a backlog', () => {
  it('gives the whole claim back when marking the campaign started fails', async () => {
    const { backlog, leases, released } = backlogWith({ markStarted: true });
    await expect(backlog.refill({ backlog: [] }, [campaign], 10)).rejects.toThrow('database unavailable');
    expect(released).toEqual([1, 2, 3]);
    expect(leases.count).toBe(0);
  });

  it('gives back the rest of the claim when recording a failed recipient fails', async () => {
    const { backlog, leases, released, settled } = backlogWith({ recordFailed: true });
    await expect(backlog.refill({ backlog: [] }, [campaign], 10)).rejects.toThrow('database unavailable');
    expect(settled).toEqual([]);
    expect(released).toEqual([1, 2, 3]);
    expect(leases.count).toBe(0);
  });

  it('settles each recipient it could not queue when the writes succeed', async () => {
    const { backlog, leases, released, settled } = backlogWith({});
    const lane = { backlog: [] };
    await backlog.refill(lane, [campaign], 10);
    expect(settled).toEqual([1, 2, 3]);
    expect(released).toEqual([]);
    expect(lane.backlog).toEqual([]);
    expect(leases.count).toBe(0);
  });
});
