import { lstat, rename, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What the interposer does with a command. `pass` forwards it to HAProxy, `hang` keeps the
 * connection open without a response, `close` closes it without output, `reject` responds with
 * HAProxy's text for an unknown command, and `garble` responds with bytes HAProxy never sends.
 */
export type SocketAction = 'pass' | 'hang' | 'close' | 'reject' | 'garble';

export interface SocketRule {
  action: SocketAction;
  /** Commands the action applies to; every other command passes. */
  match: (command: string) => boolean;
}

export interface SeenCommand {
  time: number;
  command: string;
  action: SocketAction;
}

/**
 * A stand-in at the path of HAProxy's admin socket, in front of the real one, which is renamed
 * to `<path>.real`. It passes commands through or fails the ones its rule matches. `remove()`
 * puts the real socket back unless HAProxy has bound a new one at the path in the meantime.
 */
export class RuntimeSocketInterposer {
  readonly commands: SeenCommand[] = [];
  private rule: SocketRule = { action: 'pass', match: () => false };
  private readonly held = new Set<Socket>();
  private listeners: Array<(command: SeenCommand) => void> = [];

  private constructor(
    private readonly path: string,
    private readonly server: Server,
    private readonly inode: number,
  ) {}

  static async install(path: string): Promise<RuntimeSocketInterposer> {
    const realPath = `${path}.real`;
    await rename(path, realPath);
    const created: { interposer?: RuntimeSocketInterposer } = {};
    // The daemon half-closes after its command, and the response must still reach it.
    const server = createServer({ allowHalfOpen: true }, (connection) => created.interposer?.handle(connection, realPath));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } catch (err) {
      await rename(realPath, path);
      throw err;
    }
    created.interposer = new RuntimeSocketInterposer(path, server, (await lstat(path)).ino);
    return created.interposer;
  }

  setRule(rule: SocketRule): void {
    this.rule = rule;
  }

  /** Lets every command through again and closes held connections. */
  clear(): void {
    this.rule = { action: 'pass', match: () => false };
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  /** Calls `listener` for every command received. */
  onCommand(listener: (command: SeenCommand) => void): void {
    this.listeners.push(listener);
  }

  async remove(): Promise<void> {
    this.clear();
    this.listeners = [];
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    const realPath = `${this.path}.real`;
    const current = await lstat(this.path).catch(() => null);
    // server.close() unlinks the socket file; a file that is still there belongs to a new HAProxy.
    if (current === null || current.ino === this.inode) {
      await rm(this.path, { force: true });
      await rename(realPath, this.path).catch(() => undefined);
    } else {
      await rm(realPath, { force: true });
    }
  }

  private handle(connection: Socket, realPath: string): void {
    const chunks: Buffer[] = [];
    connection.on('data', (chunk: Buffer) => chunks.push(chunk));
    connection.on('error', () => undefined);
    connection.once('end', () => {
      const request = Buffer.concat(chunks);
      const command = request.toString('utf8').split('\n')[0] ?? '';
      const action = this.rule.match(command) ? this.rule.action : 'pass';
      const seen = { time: Date.now(), command, action };
      this.commands.push(seen);
      for (const listener of this.listeners) listener(seen);
      switch (action) {
        case 'hang':
          this.held.add(connection);
          connection.once('close', () => this.held.delete(connection));
          return;
        case 'close':
          connection.destroy();
          return;
        case 'reject':
          connection.end('Unknown command, but maybe one of the following ones is a better match:\n  help : full commands list\n\n');
          return;
        case 'garble':
          connection.end('\u0000\u0013#<garbled>\u00ff\n\n');
          return;
        case 'pass': {
          const upstream = createConnection({ path: realPath });
          upstream.on('error', () => connection.destroy());
          upstream.on('connect', () => upstream.end(request));
          upstream.pipe(connection);
          return;
        }
      }
    });
  }
}
