/** The run's report file, beside the backups: never truncated or rotated. */
import type { Catalog } from '../src/catalog/catalog.js';
import type { BackupReport } from '../src/contract/backup.js';
import { catalogFor as catalogForConfig } from './access.js';
import { runActivity } from './errors.js';
import type { BackupDeps } from './backup.js';

export function createReportActivities(deps: BackupDeps) {
  const catalogFor = (cluster: string, destination: string): Catalog => catalogForConfig(deps.config, cluster, destination);

  async function writeReport(input: { destination: string; report: BackupReport }): Promise<string> {
    return runActivity(async () => {
      const catalog = catalogFor(input.report.cluster, input.destination);
      const file = catalog.reportPath(input.report.backupName);
      return catalog.writeReport(input.report.backupName, JSON.stringify({ ...input.report, reportFile: file }, null, 2) + '\n');
    });
  }

  return { writeReport };
}
