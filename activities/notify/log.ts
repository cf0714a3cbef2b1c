/** `log` notifier: one line per train event on the worker's log. */
import type { Notifier } from './notifier.js';

export class LogNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => console.log(line)) {}

  async send(note: Parameters<Notifier['send']>[0]): Promise<void> {
    const link = note.link ? ` ${note.link}` : '';
    this.write(`[trainyard] ${note.service} ${note.event}: ${note.text}${link}`);
  }
}
