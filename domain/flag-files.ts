/** Edits of the files a `forge-commit` flag driver changes, and of the clean-up merge request. */

/** The clean-up change: `content` as given, else the file without the lines that name the flag. */
export function cleanedFile(current: string, flag: string, content?: string): string {
  if (content !== undefined) return content;
  return current
    .split('\n')
    .filter((line) => !line.includes(flag))
    .join('\n');
}

/** Sets the flag in an `env` file (`FLAG=value` lines) or a JSON document at `jsonPath`. */
export function setFlagInFile(current: string | undefined, flag: string, value: string, format: 'env' | 'json', jsonPath: string[] = []): string {
  if (format === 'env') {
    const lines = (current ?? '').split('\n').filter((l, i, all) => !(i === all.length - 1 && l === ''));
    const at = lines.findIndex((l) => l.startsWith(`${flag}=`));
    if (at >= 0) lines[at] = `${flag}=${value}`;
    else lines.push(`${flag}=${value}`);
    return `${lines.join('\n')}\n`;
  }
  const doc: unknown = current?.trim() ? JSON.parse(current) : {};
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the file is not a JSON object');
  let node = doc as Record<string, unknown>;
  for (const key of jsonPath) {
    const child = node[key];
    if (child === undefined) node[key] = {};
    else if (!child || typeof child !== 'object' || Array.isArray(child)) throw new Error(`"${key}" is not an object in the file`);
    node = node[key] as Record<string, unknown>;
  }
  node[flag] = value;
  return `${JSON.stringify(doc, null, 2)}\n`;
}
