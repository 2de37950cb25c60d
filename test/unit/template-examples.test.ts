import { describe, expect, it } from 'vitest';
import { languageName } from '../../src/bridge/template-languages.js';
import { templateVariables } from '../../src/bridge/templates.js';
import { normalizeTemplate } from '../../src/whatsapp/meta/meta-provider.js';

/**
 * Meta's template examples (`components[].example`) become the form's "e.g." for each variable,
 * positional and named alike; language codes become Meta's names for them.
 */
describe("templates' example values and language names", () => {
  it('reads positional, named and URL-button examples, keyed like the form fields', () => {
    const template = normalizeTemplate({
      id: 't1',
      name: 'order_ready',
      language: 'en_GB',
      status: 'APPROVED',
      category: 'UTILITY',
      components: [
        {
          type: 'HEADER',
          format: 'TEXT',
          text: 'For {{customer}}',
          example: { header_text_named_params: [{ param_name: 'customer', example: 'Ada' }] },
        },
        { type: 'BODY', text: 'Order {{1}} is ready at {{2}}.', example: { body_text: [['A-17', 'Camden']] } },
        {
          type: 'BUTTONS',
          buttons: [
            { type: 'QUICK_REPLY', text: 'Thanks' },
            {
              type: 'URL',
              text: 'Track',
              url: 'https://x.example/o/{{1}}?ref=wa',
              example: ['https://x.example/o/A-17?ref=wa'],
            },
            { type: 'URL', text: 'Map', url: 'https://maps.example/{{1}}', example: ['somewhere else'] },
          ],
        },
      ],
    });
    expect(templateVariables(template).map((v) => [v.key, v.example])).toEqual([
      ['header.customer', 'Ada'],
      ['body.1', 'A-17'],
      ['body.2', 'Camden'],
      ['button.1.1', 'A-17'],
      // An example that is not the URL with the variable in it is shown whole.
      ['button.2.1', 'somewhere else'],
    ]);
  });

  it('gives no example for a template Meta listed without any', () => {
    const template = normalizeTemplate({
      name: 'plain',
      language: 'en_US',
      status: 'APPROVED',
      components: [{ type: 'BODY', text: 'Hi {{1}}', example: undefined }],
    });
    expect(template.examples).toBeUndefined();
    expect(templateVariables(template)[0]?.example).toBeNull();
  });

  it("names Meta's language codes, and shows an unknown code as it is", () => {
    expect(languageName('en_US')).toBe('English (US)');
    expect(languageName('pt_BR')).toBe('Portuguese (BR)');
    expect(languageName('en-gb')).toBe('English (UK)');
    expect(languageName('zz_ZZ')).toBe('zz_ZZ');
  });
});
