import { pretty } from "../format";

/** Any JSON (device-provided included) shown as text in a scrollable block. */
export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" title={label}>
      {pretty(value)}
    </pre>
  );
}
