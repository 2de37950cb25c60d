import { type Request, type Response, Router } from 'express';

/** 200 once the database answers and every migration is applied; 503 otherwise. */
export function healthRoute(checkDatabase: () => Promise<boolean>): Router {
  const router = Router();
  router.get('/healthz', async (_req: Request, res: Response) => {
    let healthy = false;
    try {
      healthy = await checkDatabase();
    } catch {
      healthy = false;
    }
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable' });
  });
  return router;
}
