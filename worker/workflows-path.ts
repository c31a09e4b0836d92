import { fileURLToPath } from 'node:url';

/** The workflows' entry module, as built. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
