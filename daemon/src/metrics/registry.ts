import { checkLabelName, checkMetricName, renderExposition, type MetricFamily, type MetricType, type Sample } from './exposition.js';

/** A family whose samples the code sets or increments as events happen. */
class LabelledMetric<L extends string> {
  private readonly values = new Map<string, Sample>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly labelNames: readonly L[],
  ) {
    checkMetricName(name, type);
    for (const label of labelNames) checkLabelName(label);
  }

  protected sampleOf(labels: Record<L, string>): Sample {
    const ordered: Record<string, string> = {};
    for (const name of this.labelNames) ordered[name] = labels[name];
    const key = JSON.stringify(ordered);
    let sample = this.values.get(key);
    if (sample === undefined) {
      sample = { labels: ordered, value: 0 };
      this.values.set(key, sample);
    }
    return sample;
  }

  /** Returns the current value of one label set, 0 when it was never touched. */
  get(labels: Record<L, string>): number {
    return this.sampleOf(labels).value;
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: this.type, samples: [...this.values.values()].map((sample) => ({ labels: { ...sample.labels }, value: sample.value })) };
  }
}

export class Counter<L extends string = never> extends LabelledMetric<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, 'counter', labelNames);
  }

  inc(labels: Record<L, string>, by = 1): void {
    if (!(by >= 0)) throw new Error(`Counter ${this.name} cannot change by ${by}; counters only increase`);
    this.sampleOf(labels).value += by;
  }
}

export class Gauge<L extends string = never> extends LabelledMetric<L> {
  constructor(name: string, help: string, labelNames: readonly L[] = []) {
    super(name, help, 'gauge', labelNames);
  }

  set(labels: Record<L, string>, value: number): void {
    this.sampleOf(labels).value = value;
  }
}

/** Reads families at scrape time, from state the daemon keeps anyway. */
export type Collector = () => Promise<MetricFamily[]> | MetricFamily[];

/**
 * The metrics of one process: families updated as events happen plus collectors read at each
 * scrape. Rendering keeps the registration order.
 */
export class MetricsRegistry {
  private readonly sources: Array<{ metric: LabelledMetric<string> } | { collector: Collector }> = [];
  private readonly names = new Set<string>();

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const counter = new Counter<L>(name, help, labelNames);
    this.claim(name);
    this.sources.push({ metric: counter as unknown as LabelledMetric<string> });
    return counter;
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    const gauge = new Gauge<L>(name, help, labelNames);
    this.claim(name);
    this.sources.push({ metric: gauge as unknown as LabelledMetric<string> });
    return gauge;
  }

  addCollector(collector: Collector): void {
    this.sources.push({ collector });
  }

  async families(): Promise<MetricFamily[]> {
    const families: MetricFamily[] = [];
    for (const source of this.sources) {
      if ('metric' in source) families.push(source.metric.family());
      else families.push(...(await source.collector()));
    }
    return families;
  }

  /** Returns the whole exposition text. */
  async render(): Promise<string> {
    return renderExposition(await this.families());
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`Metric ${name} is registered twice; reuse the first registration`);
    this.names.add(name);
  }
}
