/**
 * Bundles the workflow code and writes it to stdout. The worker runs this as a child process at
 * start-up: webpack's peak (~110 MiB above the worker's own) is then paid once by a process
 * that exits, not kept as the long-lived worker's high-water mark.
 */
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowsPath } from './workflows-path.js';

const logger = new DefaultLogger('WARN', (e) => process.stderr.write(`${e.level} ${e.message}\n`));
// A source map without the sources: the SDK needs one inline, but the full one doubled the code
// every worker parses and keeps (stack traces still name source files and lines).
const { code } = await bundleWorkflowCode({ workflowsPath, logger, webpackConfigHook: (c) => ({ ...c, devtool: 'inline-nosources-cheap-source-map' }) });
process.stdout.write(code);
