import type { NextFunction, Request, Response } from 'express';

/**
 * Slack's replay window, both ways: a request stamped more than five minutes before or after now
 * is refused before Bolt sees it (Bolt itself only rejects old timestamps).
 */
export function slackReplayGuard(now: () => number = Date.now, windowSeconds = 300) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers['x-slack-request-timestamp'];
    const timestamp = Number(Array.isArray(header) ? header[0] : header);
    if (!Number.isFinite(timestamp) || Math.abs(now() / 1000 - timestamp) > windowSeconds) {
      res.status(401).json({ error: 'missing or stale X-Slack-Request-Timestamp' });
      return;
    }
    next();
  };
}
