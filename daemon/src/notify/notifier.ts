import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { sendMail } from '../acme/expiry-mail.js';
import { errorMessage } from '../errors.js';
import type { Counter } from '../metrics/registry.js';
import { writeFileAtomic } from '../proxy/atomic-file.js';
import { redactSecrets } from '../reconcile/certificate-manager.js';
import { mailBody, mailSubject, type Notification } from './events.js';
import { postWebhook } from './webhook.js';
import { webhookOrigin } from './webhook-url.js';

export interface NotifierOptions {
  /** PVE node name, in every subject and webhook body. */
  node: string;
  sendmailPath: string;
  /** Mail recipients; PVE turns mail to root into a notification of type system-mail. */
  mailTo: string[];
  /** Minimum time between two notifications of one event about one object. */
  repeatIntervalMs: number;
  /** Node-local file that keeps the last send time per event and object across restarts; null keeps them in memory. */
  stateFile: string | null;
  webhook: {
    timeoutMs: number;
    attempts: number;
    retryDelayMs: number;
    /** PEM CA certificates trusted for webhook receivers besides the system's. */
    ca?: string | undefined;
  };
  /** Returns the `notify-webhook` URL of a domain, if it has one. */
  webhookFor(domain: string): string | undefined;
  counters?: { notifications: Counter<'event' | 'channel' | 'result'> };
  logger: Logger;
  /** Clock in milliseconds; defaults to Date.now. */
  now?: () => number;
}

function keyOf(notification: Pick<Notification, 'event' | 'object'>): string {
  return `${notification.event} ${notification.object}`;
}

/**
 * Sends events as mail through sendmail and, for objects of a domain with `notify-webhook`, as a
 * webhook call. One event about one object goes out at most once per repeat interval, and repeats
 * within it are counted as suppressed. notify() does not throw, because each delivery catches,
 * logs and counts its own failure.
 */
export class Notifier {
  private readonly sent = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private saving: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readonly now: () => number;

  private constructor(private readonly options: NotifierOptions) {
    this.logger = options.logger.child({ subsystem: 'notify' });
    this.now = options.now ?? Date.now;
  }

  /** Creates a notifier and loads the send times kept by an earlier run. */
  static async open(options: NotifierOptions): Promise<Notifier> {
    const notifier = new Notifier(options);
    if (options.stateFile !== null) {
      try {
        const parsed: unknown = JSON.parse(await readFile(options.stateFile, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null) {
          for (const [key, time] of Object.entries(parsed)) if (typeof time === 'number') notifier.sent.set(key, time);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') notifier.logger.warn({ err, file: options.stateFile }, 'unable to read the notification send times; repeats within the interval may be sent once more');
      }
    }
    return notifier;
  }

  /**
   * Sends `notification` in the background unless the same event about the same object went out
   * within the repeat interval. Returns false when it was suppressed.
   */
  notify(notification: Notification): boolean {
    const now = this.now();
    const key = keyOf(notification);
    const last = this.sent.get(key);
    if (last !== undefined && now - last < this.options.repeatIntervalMs) {
      this.count(notification, 'mail', 'suppressed');
      this.logger.debug({ event: notification.event, object: notification.object }, 'notification suppressed as a repeat');
      return false;
    }
    this.sent.set(key, now);
    const clean: Notification = { ...notification, message: redactSecrets(notification.message) };
    const delivery = this.deliver(clean, new Date(now)).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    this.save();
    return true;
  }

  /** Forgets the last send time of an event about an object, so that its next occurrence is sent. */
  reset(event: Notification['event'], object: string): void {
    if (this.sent.delete(keyOf({ event, object }))) this.save();
  }

  /** Waits for every delivery started so far and the send-time file. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.saving;
  }

  /** Cancels webhook retries and waits for the deliveries to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.idle();
  }

  private async deliver(notification: Notification, time: Date): Promise<void> {
    const { node } = this.options;
    const log = this.logger.child({ event: notification.event, object: notification.object });
    const mail = (async () => {
      if (this.options.mailTo.length === 0) return;
      try {
        await sendMail(this.options.sendmailPath, this.options.mailTo, mailSubject(notification, node), mailBody(notification, node, time));
        this.count(notification, 'mail', 'sent');
        log.info({ recipients: this.options.mailTo }, 'notification mail sent');
      } catch (err) {
        this.count(notification, 'mail', 'failed');
        log.error({ err: errorMessage(err) }, 'unable to send the notification mail; check notify.sendmailPath and the node\'s mail setup');
      }
    })();
    const url = notification.domain === null ? undefined : this.options.webhookFor(notification.domain);
    const webhook = (async () => {
      if (url === undefined) return;
      const { timeoutMs, attempts, retryDelayMs, ca } = this.options.webhook;
      try {
        await postWebhook(url, { event: notification.event, object: notification.object, node, time: time.toISOString(), message: notification.message }, { timeoutMs, attempts, retryDelayMs, ca, signal: this.abort.signal });
        this.count(notification, 'webhook', 'sent');
        log.info({ webhook: webhookOrigin(url) }, 'notification webhook called');
      } catch (err) {
        this.count(notification, 'webhook', 'failed');
        log.error({ err: errorMessage(err), webhook: webhookOrigin(url) }, 'notification webhook failed');
      }
    })();
    await Promise.all([mail, webhook]);
  }

  private count(notification: Notification, channel: 'mail' | 'webhook', result: 'sent' | 'failed' | 'suppressed'): void {
    this.options.counters?.notifications.inc({ event: notification.event, channel, result });
  }

  /** Writes the send times still inside the repeat interval; writes are queued one after another. */
  private save(): void {
    const file = this.options.stateFile;
    if (file === null) return;
    const cutoff = this.now() - this.options.repeatIntervalMs;
    for (const [key, time] of this.sent) if (time < cutoff) this.sent.delete(key);
    const content = `${JSON.stringify(Object.fromEntries(this.sent))}\n`;
    this.saving = this.saving
      .then(() => writeFileAtomic(file, content))
      .catch((err: unknown) => {
        this.logger.warn({ err, file }, 'unable to save the notification send times');
      });
  }
}
