// The README's configuration table is generated from the settings table; this keeps them in step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsTable } from './index';

it('README documents exactly the current settings (regenerate with `npx ferry config`)', () => {
  const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
  const block = /<!-- settings:begin -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme);
  expect(block).not.toBeNull();
  expect(block![1]).toBe(settingsTable());
});
