/** Online/offline as a dot plus a word (never colour alone). */
export function Presence({ online, disabled }: { online: boolean; disabled?: boolean }) {
  if (disabled) return <span class="presence disabled">Disabled</span>;
  return (
    <span class={`presence ${online ? "online" : "offline"}`} data-online={String(online)}>
      {online ? "Online" : "Offline"}
    </span>
  );
}

export function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <ul class="chips">
      {entries.map(([key, value]) => (
        <li key={key} class="chip">
          {value ? `${key}=${value}` : key}
        </li>
      ))}
    </ul>
  );
}
