import type { Logger } from '../../shared/logger.js';
import type { CampaignRepository } from './campaign-ports.js';

/**
 * The recipients this worker has claimed and not yet settled: their leases are renewed until
 * they are let go.
 */
export function createRecipientLeases(deps: {
  campaigns: CampaignRepository;
  workerId: string;
  leaseMs: number;
  now: () => number;
  logger: Logger;
}) {
  const held = new Set<number>();
  let renewal: NodeJS.Timeout | null = null;

  // A send can outlast the lease (HTTP timeout × retries): renewing keeps a live worker's send from
  // being reclaimed and sent again, while a dead worker's leases still run out and get taken over.
  async function renew(): Promise<void> {
    if (held.size === 0) return;
    await deps.campaigns.renewLeases(deps.workerId, [...held], deps.now() + deps.leaseMs);
  }

  return {
    hold(recipientId: number): void {
      held.add(recipientId);
    },
    letGo(recipientId: number): void {
      held.delete(recipientId);
    },
    get count(): number {
      return held.size;
    },
    startRenewing(): void {
      renewal = setInterval(
        () => {
          renew().catch((error: unknown) =>
            deps.logger.warn({ err: String(error) }, 'renewing campaign recipient leases failed'),
          );
        },
        Math.max(500, deps.leaseMs / 3),
      );
      renewal.unref();
    },
    stopRenewing(): void {
      if (renewal) clearInterval(renewal);
      renewal = null;
    },
  };
}

export type RecipientLeases = ReturnType<typeof createRecipientLeases>;
