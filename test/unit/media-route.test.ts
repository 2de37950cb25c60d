import { describe, expect, it } from 'vitest';
import { contentDisposition, isInlineType, servedType } from '../../src/http/media-route.js';

describe('how /media serves a stored file', () => {
  it('shows only pictures, videos and sound inline, never SVG or other XML', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'video/mp4', 'audio/ogg'])
      expect(isInlineType(type), type).toBe(true);
    for (const type of [
      'text/html',
      'application/xhtml+xml',
      'image/svg+xml',
      'image/svg',
      'text/xml',
      'application/pdf',
      'text/javascript',
      'application/octet-stream',
      'multipart/x-mixed-replace',
    ])
      expect(isInlineType(type), type).toBe(false);
  });

  it('drops parameters and replaces a malformed stored type with octet-stream', () => {
    expect(servedType('Image/PNG; charset=binary')).toBe('image/png');
    expect(servedType('text/html\r\nx-injected: 1')).toBe('application/octet-stream');
    expect(servedType('')).toBe('application/octet-stream');
    expect(servedType('nonsense')).toBe('application/octet-stream');
  });

  it('names the file in a header-safe way, with the exact name in filename*', () => {
    expect(contentDisposition('attachment', 'reçu "final"\r\n.txt')).toBe(
      `attachment; filename="re_u _final___.txt"; filename*=UTF-8''re%C3%A7u%20%22final%22%0D%0A.txt`,
    );
    expect(contentDisposition('inline', "it's (1).png")).toBe(
      `inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`,
    );
  });
});
