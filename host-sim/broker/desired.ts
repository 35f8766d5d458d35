// The desired property values OneNET keeps for one device (OneJSON `desired.md`): set by the cloud
// (the console's "set desired", or the API), fetched by the device with property/desired/get, and
// removed by the device with property/desired/delete once it has applied them.
//
// A desired value is not a property/set: it is never pushed to the device, and a property/set never
// becomes one. Each property's version counts up from 1 and never goes back, not even after a delete,
// so a version names one value for good. The delete is conditional: naming version n removes the value
// only when no newer one was set since (a value set after the device read n survives).
//
// Public API:
//   new DesiredStore()
//   set(name, value): number                              the new version
//   get(names?): Record<name, { value, version }>          all when names is empty or absent
//   delete(name, version?): "deleted" | "kept-newer" | "absent"   no version: deleted whatever it is
//   snapshot(): Record<name, { value, version }>
export interface DesiredValue {
  value: unknown;
  version: number;
}

export type DesiredDeleteOutcome = "deleted" | "kept-newer" | "absent";

export class DesiredStore {
  private readonly values = new Map<string, DesiredValue>();
  /** The last version given to each property, kept after its value is deleted. */
  private readonly versions = new Map<string, number>();

  set(name: string, value: unknown): number {
    const version = (this.versions.get(name) ?? 0) + 1;
    this.versions.set(name, version);
    this.values.set(name, { value, version });
    return version;
  }

  get(names: readonly string[] = []): Record<string, DesiredValue> {
    const out: Record<string, DesiredValue> = {};
    const wanted = names.length === 0 ? [...this.values.keys()] : names;
    for (const name of wanted) {
      const d = this.values.get(name);
      if (d) out[name] = { value: d.value, version: d.version };
    }
    return out;
  }

  delete(name: string, version?: number): DesiredDeleteOutcome {
    const d = this.values.get(name);
    if (!d) return "absent";
    if (version !== undefined && version < d.version) return "kept-newer";
    this.values.delete(name);
    return "deleted";
  }

  snapshot(): Record<string, DesiredValue> {
    return this.get();
  }
}
