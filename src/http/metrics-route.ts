import { timingSafeEqual } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import type { Registry } from 'prom-client';

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What a presented token is worth: allowed, or refused with a status and (for 403) a reason. */
export type MetricsAccess = { ok: true } | { ok: false; status: 401 } | { ok: false; status: 403; error: string };

/** GET /metrics in Prometheus format, for a bearer METRICS_TOKEN or API key. */
export function metricsRoute(deps: {
  registry: Registry;
  authorize(token: string): Promise<MetricsAccess>;
  refresh(): Promise<void>;
}): Router {
  const router = Router();
  router.get('/metrics', async (req: Request, res: Response) => {
    const token = /^Bearer\s+(\S{1,200})$/i.exec(req.headers.authorization ?? '')?.[1];
    const access: MetricsAccess = token ? await deps.authorize(token) : { ok: false, status: 401 };
    if (!access.ok) {
      if (access.status === 403) res.status(403).json({ error: access.error });
      else
        res
          .status(401)
          .setHeader('www-authenticate', 'Bearer')
          .json({ error: 'metrics need Authorization: Bearer <METRICS_TOKEN or an API key>' });
      return;
    }
    await deps.refresh();
    res
      .status(200)
      .type(deps.registry.contentType)
      .send(await deps.registry.metrics());
  });
  return router;
}
