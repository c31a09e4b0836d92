/**
 * `npm run record-histories`: re-records test/fixtures/histories/*.json from the current workflow
 * code. Only for a change that keeps in-flight runs safe (patched(), or nothing in flight): a
 * refreshed history no longer proves that old runs still replay. See CONTRIBUTING.md.
 */
import { relative } from 'node:path';
import { recordHistories } from '../harness/histories.js';
import { localEnv, repo, workflowBundle } from '../harness/workflow-env.js';

const [env] = await Promise.all([localEnv(), workflowBundle()]);
try {
  for (const file of await recordHistories(env)) console.log(`recorded ${relative(repo, file)}`);
} finally {
  await env.teardown();
}
