import { UsageError } from './errors.js';

/**
 * Reads a secret from the terminal without echoing it: raw mode, one character at a time, with
 * backspace, and Ctrl-C to abort. The prompt goes to stderr so that stdout carries data only.
 */
export function promptSecret(label: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = input.isRaw;
    const finish = (error: Error | null): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error === null) resolve(value);
      else reject(error);
    };
    const onData = (chunk: string): void => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n' || character === '\u0004') return finish(null);
        if (character === '\u0003') return finish(new UsageError(`no value entered for --${label}; aborted`));
        if (character === '\u007f' || character === '\b') value = value.slice(0, -1);
        else if (character >= ' ') value += character;
      }
    };
    // Echo goes off before the prompt appears, so that nothing typed after it is echoed.
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.write(`Enter ${label}: `);
  });
}
