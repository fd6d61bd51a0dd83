export interface AdapterSummary {
  description: string;
  isFallbackAdapter: boolean;
}

export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/** What the adapter says about itself (`info.isFallbackAdapter`, or the older `isFallbackAdapter`). */
export function summarizeAdapter(adapter: AdapterLike): AdapterSummary {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.description].filter((p) => p && p.length > 0);
  return {
    description: parts.length > 0 ? parts.join(' / ') : 'unnamed adapter',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
}
