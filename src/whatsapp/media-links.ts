import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Expiring signed links for media a provider must fetch from the bridge (EngageLab sends media by
 * URL only). The signature covers the media id and the expiry, so a link can't be altered or reused
 * after it expires.
 */

export type MediaLinkSigner = {
  linkFor(mediaId: string, ttlMs?: number): string;
  /** true when `signature` is valid for `mediaId` and `expires` is still in the future. */
  verify(mediaId: string, expires: string | undefined, signature: string | undefined): boolean;
};

export const MEDIA_ROUTE = '/media';

export function createMediaLinkSigner(options: {
  publicUrl: string;
  secret: string;
  now?: () => number;
  defaultTtlMs?: number;
}): MediaLinkSigner {
  const now = options.now ?? Date.now;
  const defaultTtlMs = options.defaultTtlMs ?? 24 * 60 * 60 * 1000;
  const sign = (mediaId: string, expires: string) =>
    createHmac('sha256', options.secret).update(`media:${mediaId}:${expires}`).digest('base64url');

  return {
    linkFor(mediaId, ttlMs = defaultTtlMs) {
      const expires = String(Math.floor((now() + ttlMs) / 1000));
      const base = options.publicUrl.replace(/\/+$/, '');
      return `${base}${MEDIA_ROUTE}/${encodeURIComponent(mediaId)}?expires=${expires}&sig=${sign(mediaId, expires)}`;
    },
    verify(mediaId, expires, signature) {
      if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return false;
      if (Number(expires) * 1000 < now()) return false;
      const expected = Buffer.from(sign(mediaId, expires));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
