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

export function loadMetaSpec(): JsonObject {
  return parse(readFileSync(SPEC_PATH, 'utf8')) as JsonObject;
}

export function validateMetaMessageBody(body: unknown): string[] {
  if (!validator) {
    const spec = loadMetaSpec();
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(ajv);
    const components = normalize(spec.components) as JsonObject;
    ajv.addSchema({ $id: 'meta-openapi', components }, 'meta-openapi');
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
      return validate(value)
        ? []
        : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    };
  }
  return validator(body);
}

/** The spec's own request examples for the send endpoint, to prove the validator accepts valid bodies. */
export function specSendExamples(): { name: string; value: unknown }[] {
  const spec = loadMetaSpec() as {
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
