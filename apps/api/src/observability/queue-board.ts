import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { JobQueues } from '@fundus/jobs';
import type { NextFunction, Request, Response, Router } from 'express';
import { errorToBody } from '../common/exception.filter';
import type { AuthService } from '../auth/auth.service';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board over every queue, behind an admin-key check (it can retry and delete jobs). It is plain
 * Express, outside Nest's guards, so the check is done here with the same AuthService.
 */
export function queueBoard(
  queues: JobQueues,
  auth: AuthService,
): { path: string; handlers: Array<(req: Request, res: Response, next: NextFunction) => void> | Router[] } {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: JobQueues.all().map((name) => new BullMQAdapter(queues.queue(name), { readOnlyMode: false })),
    serverAdapter: adapter,
  });
  const adminOnly = (req: Request, res: Response, next: NextFunction) => {
    auth
      .authenticate(req.headers.authorization)
      .then((p) => {
        if (p.role !== 'admin') {
          res.status(403).json({
            statusCode: 403,
            error: 'Forbidden',
            message: `role "${p.role}" may not use the queue board; needs admin`,
          });
          return;
        }
        next();
      })
      .catch((err) => {
        const body = errorToBody(err);
        res.status(body.statusCode).json(body);
      });
  };
  return { path: QUEUE_BOARD_PATH, handlers: [adminOnly, adapter.getRouter() as Router] as never };
}
