/**
 * One logger shape for every activity: each line carries the run (backup name), the workflow, the
 * image and the phase, so `grep` of one run or one image finds all of it.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { imageKey, type ImageRef } from '../src/names/names.js';

export function stepLogger(logger: Logger) {
  return (ref: Partial<ImageRef>, phase: string, run?: string): Logger => {
    let workflowId: string | undefined;
    try {
      workflowId = Context.current().info.workflowExecution?.workflowId;
    } catch {
      workflowId = undefined;
    }
    return logger.child({ run, workflowId, image: ref.pool ? imageKey(ref as ImageRef) : undefined, phase });
  };
}
