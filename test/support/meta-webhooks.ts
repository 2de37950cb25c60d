/** Meta webhook bodies for tests, shaped like the real ones in test/fixtures/meta-samples. */

export const PHONE_NUMBER_ID = '1906385232743451';
export const BUSINESS_NUMBER = '15550001111';

let counter = 0;
export const nextWamid = () => `wamid.TEST${Date.now()}${++counter}`;

export function inboundWebhook(
  message: Record<string, unknown> & { type: string },
  options: { from?: string; name?: string; id?: string; timestamp?: number; userId?: string } = {},
) {
  const from = options.from ?? '447700900123';
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: BUSINESS_NUMBER, phone_number_id: PHONE_NUMBER_ID },
              contacts: [
                {
                  profile: { name: options.name ?? 'Ana Souza' },
                  wa_id: from,
                  ...(options.userId ? { user_id: options.userId } : {}),
                },
              ],
              messages: [
                {
                  from,
                  id: options.id ?? nextWamid(),
                  timestamp: String(Math.floor((options.timestamp ?? Date.now()) / 1000)),
                  ...message,
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

export function statusWebhook(
  wamid: string,
  status: 'sent' | 'delivered' | 'read' | 'failed',
  errors?: { code: number; title: string; details?: string }[],
) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: BUSINESS_NUMBER, phone_number_id: PHONE_NUMBER_ID },
              statuses: [
                {
                  id: wamid,
                  status,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  recipient_id: '447700900123',
                  ...(errors
                    ? {
                        errors: errors.map((e) => ({
                          code: e.code,
                          title: e.title,
                          message: e.title,
                          error_data: { details: e.details ?? e.title },
                        })),
                      }
                    : {}),
                },
              ],
            },
          },
        ],
      },
    ],
  };
}
