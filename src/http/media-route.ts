import { type Request, type Response, Router } from 'express';
import { MEDIA_ROUTE, type MediaLinkSigner } from '../whatsapp/media-links.js';

export type StoredMedia = { mimeType: string; filename: string; bytes: Buffer };

const TOKEN = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/;

/** The stored type without parameters, or octet-stream when it is not a well-formed media type. */
export function servedType(mimeType: string): string {
  const base = (mimeType.split(';')[0] ?? '').trim().toLowerCase();
  return TOKEN.test(base) ? base : 'application/octet-stream';
}

/**
 * Only pictures, videos and sound are shown inline. SVG is an image that can run script, so it is
 * a download like everything else (an agent's `.html` or `.svg` must never become a page of the
 * bridge's origin).
 */
export function isInlineType(type: string): boolean {
  return /^(image|video|audio)\//.test(type) && !type.includes('svg') && !type.includes('xml');
}

/** RFC 6266: an ASCII fallback name plus the exact name in UTF-8 (`filename*`). */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

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
    const type = servedType(media.mimeType);
    res
      .status(200)
      .setHeader('content-type', type)
      .setHeader('x-content-type-options', 'nosniff')
      .setHeader('content-security-policy', 'sandbox')
      .setHeader(
        'content-disposition',
        contentDisposition(isInlineType(type) ? 'inline' : 'attachment', media.filename),
      )
      .send(media.bytes);
  });
  return router;
}
