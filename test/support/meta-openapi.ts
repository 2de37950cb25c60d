import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates request bodies against `#/components/schemas/Message` of Meta's published OpenAPI 3.1
 * spec (test/fixtures/meta-openapi). The spec composes messages with `allOf` members that each say
 * `additionalProperties: false`; read literally that rejects every message (each member forbids the
 * other's fields), so those are turned into `unevaluatedProperties: false` on the composition — the
 * 2020-12 way to say "no fields beyond those declared by any member".
 */

const SPEC_PATH = resolve(import.meta.dirname, '../fixtures/meta-openapi/business-messaging-api_v23.0.yaml');

type JsonObject = Record<string, unknown>;

function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (typeof node !== 'object' || node === null) return node;
  const object: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'discriminator' || key === 'example' || key === 'examples' || key === 'xml' || key === 'externalDocs')
      continue;
    object[key] = normalize(value);
  }
  if (Array.isArray(object.allOf)) {
    let closed = false;
    object.allOf = (object.allOf as unknown[]).map((member) => {
      if (typeof member === 'object' && member !== null && (member as JsonObject).additionalProperties === false) {
        closed = true;
        const { additionalProperties: _ignored, ...rest } = member as JsonObject;
        return rest;
      }
      return member;
    });
    if (closed) object.unevaluatedProperties = false;
  }
  return object;
}

let validator: ((body: unknown) => string[]) | null = null;
let markReadValidator: ((body: unknown) => string[]) | null = null;
let specAjv: Ajv2020 | null = null;
let parsedSpec: JsonObject | null = null;

export function loadMetaSpec(): JsonObject {
  return parse(readFileSync(SPEC_PATH, 'utf8')) as JsonObject;
}

/** Parsed once for the validators (it is large); they never change it. */
const sharedSpec = (): JsonObject => {
  parsedSpec ??= loadMetaSpec();
  return parsedSpec;
};

/** An Ajv that knows the spec's components as `meta-openapi#/components/…`. */
function ajvWithSpec(spec: JsonObject): Ajv2020 {
  if (specAjv) return specAjv;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  const components = normalize(spec.components) as JsonObject;
  ajv.addSchema({ $id: 'meta-openapi', components }, 'meta-openapi');
  specAjv = ajv;
  return ajv;
}

const errorsOf = (errors: { instancePath: string; message?: string; params: unknown }[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);

export function validateMetaMessageBody(body: unknown): string[] {
  if (!validator) {
    const spec = sharedSpec();
    const ajv = ajvWithSpec(spec);
    // The spec's discriminator maps `type` to one schema; validating that branch gives clear errors.
    const mapping =
      (
        (spec.components as JsonObject).schemas as Record<
          string,
          { discriminator?: { mapping?: Record<string, string> } }
        >
      ).Message?.discriminator?.mapping ?? {};
    const byType = new Map(
      Object.entries(mapping).map(([type, ref]) => [type, ajv.compile({ $ref: `meta-openapi${ref}` })]),
    );
    validator = (value) => {
      const type = typeof value === 'object' && value !== null ? (value as JsonObject).type : undefined;
      const validate = typeof type === 'string' ? byType.get(type) : undefined;
      if (!validate)
        return [`/type ${String(type)} is not a message type of the spec (${[...byType.keys()].join(', ')})`];
      return validate(value) ? [] : errorsOf(validate.errors);
    };
  }
  return validator(body);
}

/** The spec's example of a read receipt with the typing indicator, the one request the bridge sends for both. */
export const READ_RECEIPT_EXAMPLE = 'Send typing indicator and read receipt';

/**
 * Read receipts go to the same endpoint as messages, with `MarkMessageRequestPayload`. That schema
 * leaves other fields open and does not describe `typing_indicator`, which only the spec's example
 * "Send typing indicator and read receipt" shows; so beyond the schema a body may carry no field
 * that example lacks, and its `status` and `typing_indicator` must be the example's.
 */
export function validateMetaMarkReadBody(body: unknown): string[] {
  if (!markReadValidator) {
    const spec = sharedSpec();
    const validate = ajvWithSpec(spec).compile({ $ref: 'meta-openapi#/components/schemas/MarkMessageRequestPayload' });
    const example = sendExamplesOf(spec).find((e) => e.name === READ_RECEIPT_EXAMPLE)?.value as JsonObject | undefined;
    if (!example) throw new Error(`the spec has no example "${READ_RECEIPT_EXAMPLE}"`);
    markReadValidator = (value) => {
      const errors = validate(value) ? [] : errorsOf(validate.errors);
      if (typeof value !== 'object' || value === null) return errors;
      const fields = value as JsonObject;
      for (const key of Object.keys(fields))
        if (!(key in example)) errors.push(`/${key} is not a field of a read receipt (the spec's example has none)`);
      if (fields.status !== example.status) errors.push(`/status must be ${JSON.stringify(example.status)}`);
      if (
        fields.typing_indicator !== undefined &&
        JSON.stringify(fields.typing_indicator) !== JSON.stringify(example.typing_indicator)
      )
        errors.push(`/typing_indicator must be ${JSON.stringify(example.typing_indicator)}`);
      return errors;
    };
  }
  return markReadValidator(body);
}

/** The spec's own request examples for the send endpoint, to prove the validator accepts valid bodies. */
export function specSendExamples(): { name: string; value: unknown }[] {
  return sendExamplesOf(loadMetaSpec());
}

function sendExamplesOf(parsed: JsonObject): { name: string; value: unknown }[] {
  const spec = parsed as {
    paths: Record<
      string,
      { post?: { requestBody?: { content?: Record<string, { examples?: Record<string, { value: unknown }> }> } } }
    >;
  };
  const examples =
    spec.paths['/{Version}/{Phone-Number-ID}/messages']?.post?.requestBody?.content?.['application/json']?.examples ??
    {};
  return Object.entries(examples).map(([name, example]) => ({ name, value: example.value }));
}
