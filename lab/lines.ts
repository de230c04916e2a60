// Splits a stream of text chunks into lines for callbacks that want lines.

export interface LineSplitter {
  push(chunk: string): void;
  /** Deliver a last line that had no newline. */
  flush(): void;
}

export function lineSplitter(onLine: (line: string) => void): LineSplitter {
  let rest = '';
  return {
    push(chunk) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        onLine(rest.slice(0, nl).replace(/\r$/, ''));
        rest = rest.slice(nl + 1);
      }
    },
    flush() {
      if (rest.length > 0) onLine(rest);
      rest = '';
    },
  };
}
