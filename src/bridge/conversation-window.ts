/** WhatsApp's customer-service window: free-form messages only within 24 h of the contact's last message. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

export type WindowState = { open: true; closesAt: number } | { open: false; lastInboundAt: number | null };

export function windowState(lastInboundAt: number | null, now: number): WindowState {
  if (lastInboundAt !== null && now < lastInboundAt + CUSTOMER_SERVICE_WINDOW_MS) {
    return { open: true, closesAt: lastInboundAt + CUSTOMER_SERVICE_WINDOW_MS };
  }
  return { open: false, lastInboundAt };
}
