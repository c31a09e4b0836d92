/** `config convert FILE`: the original tool's config.ini as the equivalent YAML config, on stdout. */
import { InputError } from '../src/config/config.js';
import { isIni, readConfigText } from '../src/config/config-file.js';
import { INI_SECTION, iniToConfig, renderYaml } from '../src/config/ini-keys.js';
import { EXIT_OK } from './common.js';

export async function configConvertCommand(file: string, o: { section?: string }): Promise<number> {
  const text = readConfigText(file);
  if (!isIni(file, text)) throw new InputError(`${file}: not a config.ini (no [section] line before the first key): it is read as YAML already`);
  const ic = iniToConfig(text, file, o.section ?? INI_SECTION, { otherSections: 'ignore' });
  // Said on stderr too: the YAML's closing comment is easy to miss behind a redirection.
  for (const w of ic.warnings) process.stderr.write(`rbd-backup: warning: ${file}:${w.line}: ${w.key} no longer applies: ${w.why}; not converted\n`);
  for (const n of ic.notes) process.stderr.write(`rbd-backup: warning: ${file}:${n.line}: ${n.text}\n`);
  process.stdout.write(renderYaml(ic, file));
  return EXIT_OK;
}
