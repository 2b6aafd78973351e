import type { Logger } from '../../src/index.js';

export interface CapturedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/** A Logger that keeps every line (every level, children included) in `lines`, for asserting on logs. */
export function captureLogger(lines: CapturedLine[]): Logger {
  const make = (): Logger => {
    const at =
      (level: CapturedLine['level']) =>
      (obj: object | string, msg?: string): void => {
        lines.push(
          typeof obj === 'string'
            ? { level, msg: obj, obj: {} }
            : { level, msg: msg ?? '', obj: obj as Record<string, unknown> },
        );
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => make() };
  };
  return make();
}
