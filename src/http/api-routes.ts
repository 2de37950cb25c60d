import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { ApiKeyAccess } from '../bridge/api-key-access.js';
import type { TriggeredTemplates } from '../bridge/campaigns/triggered-templates.js';

const messageRequestSchema = z.object({
  from: z.string().min(1).max(40),
  to: z.string().min(1).max(40),
  template: z.string().min(1).max(512),
  language: z.string().min(2).max(15),
  variables: z.record(z.string().max(64), z.string().max(1024)).default({}),
  header: z
    .object({
      type: z.enum(['image', 'video', 'document']),
      url: z.url({ protocol: /^https$/ }),
      filename: z.string().max(240).optional(),
    })
    .optional(),
  idempotency_key: z.string().min(1).max(200),
});

const parseJson = express.json({ limit: '64kb', type: () => true });

/** The JSON body, or a 4xx that says what is wrong with it (never the generic error handler's). */
function jsonBody(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    res.status(415).json({ error: 'send the body as JSON with Content-Type: application/json' });
    return;
  }
  parseJson(req, res, (error?: unknown) => {
    if (error === undefined) {
      next();
      return;
    }
    const type = typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : '';
    if (type === 'entity.too.large') res.status(413).json({ error: 'the body is larger than 64 KB' });
    else if (type === 'entity.parse.failed')
      res.status(400).json({ error: `the body is not valid JSON (${error instanceof Error ? error.message : ''})` });
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported')
      res.status(415).json({ error: 'the body must be UTF-8 JSON' });
    else next(error);
  });
}

/** POST /api/v1/messages (send a template) and GET /api/v1/messages/:id (its status), bearer API keys. */
export function apiRoutes(deps: {
  /** Checked on every request: the key, its expiry and its creator's role. */
  authenticate(key: string): Promise<ApiKeyAccess>;
  templates: TriggeredTemplates;
}): Router {
  const router = Router();
  const authenticated = async (req: Request, res: Response): Promise<string | null> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S{10,200})$/i.exec(header);
    const access: ApiKeyAccess = match?.[1]
      ? await deps.authenticate(match[1])
      : { ok: false, status: 401, error: 'a valid API key is required: Authorization: Bearer <key>' };
    if (!access.ok) {
      if (access.status === 401) res.setHeader('www-authenticate', 'Bearer');
      res.status(access.status).json({ error: access.error });
      return null;
    }
    return access.keyId;
  };

  // Authentication comes before the body is even parsed: without a key, nothing is read.
  const requireKey = async (req: Request, res: Response, next: NextFunction) => {
    const keyId = await authenticated(req, res);
    if (!keyId) return;
    res.locals.apiKeyId = keyId;
    next();
  };

  router.post('/api/v1/messages', requireKey, jsonBody, async (req: Request, res: Response) => {
    const keyId = String(res.locals.apiKeyId);
    const parsed = messageRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({
        error: 'invalid request',
        issues: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
      });
      return;
    }
    const body = parsed.data;
    const result = await deps.templates.send({
      apiKeyId: keyId,
      from: body.from,
      to: body.to,
      template: body.template,
      language: body.language,
      variables: body.variables,
      header: body.header ?? null,
      idempotencyKey: body.idempotency_key,
    });
    if (!result.ok) {
      res.status(result.status).json({ error: result.error, ...(result.code ? { code: result.code } : {}) });
      return;
    }
    res
      .status(result.duplicate ? 200 : 202)
      .json({ id: result.id, status: result.status, duplicate: result.duplicate });
  });

  router.get('/api/v1/messages/:id', async (req: Request, res: Response) => {
    const keyId = await authenticated(req, res);
    if (!keyId) return;
    const status = await deps.templates.status(String(req.params.id), keyId);
    if (!status) {
      res.status(404).json({ error: 'no such message' });
      return;
    }
    res.status(200).json({ id: req.params.id, ...status });
  });
  return router;
}
