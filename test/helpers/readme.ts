/**
 * The commands of the README's shell blocks, as a newcomer would type them: continuation lines
 * joined, comments after a command dropped. Tests run them (with the substitutions they name) so a
 * renamed flag, update or message fails the suite instead of the reader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../workers/bundle.js';

/** Every `sh` block of the README, each as its list of commands. */
export function readmeShellBlocks(): string[][] {
  const text = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
  const blocks: string[][] = [];
  for (const m of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const commands: string[] = [];
    let pending = '';
    for (const raw of (m[1] ?? '').split('\n')) {
      const line = pending + raw.trim();
      if (line.endsWith('\\')) {
        pending = `${line.slice(0, -1).trimEnd()} `;
        continue;
      }
      pending = '';
      const command = withoutComment(line);
      if (command) commands.push(command);
    }
    blocks.push(commands);
  }
  return blocks;
}

/** The block that has a command starting with `first`; fails naming what the README lacks. */
export function readmeBlock(first: string): string[] {
  const block = readmeShellBlocks().find((b) => b.some((c) => c.startsWith(first)));
  if (!block) throw new Error(`the README has no sh block with a command starting "${first}"`);
  return block;
}

/** A command without its trailing `# comment` (a `#` inside quotes stays). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i).trim();
  }
  return line.trim();
}
