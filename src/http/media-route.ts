import { type Request, type Response, Router } from 'express';
import { MEDIA_ROUTE, type MediaLinkSigner } from '../whatsapp/media-links.js';

export type StoredMedia = { mimeType: string; filename: string; bytes: Buffer };

/** Serves media a provider fetches by link (EngageLab), only under a valid, unexpired signature. */
export function mediaRoute(deps: {
  links: MediaLinkSigner;
  load(id: string): Promise<StoredMedia | undefined>;
}): Router {
  const router = Router();
  router.get(`${MEDIA_ROUTE}/:id`, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const expires = typeof req.query.expires === 'string' ? req.query.expires : undefined;
    const sig = typeof req.query.sig === 'string' ? req.query.sig : undefined;
    if (!deps.links.verify(id, expires, sig)) {
      res.status(403).json({ error: 'invalid or expired media link' });
      return;
    }
    const media = await deps.load(id);
    if (!media) {
      res.status(404).json({ error: 'media not found' });
      return;
    }
    res
      .status(200)
      .type(media.mimeType)
      .setHeader('content-disposition', `inline; filename="${media.filename.replace(/["\\\r\n]/g, '_')}"`)
      .send(media.bytes);
  });
  return router;
}
