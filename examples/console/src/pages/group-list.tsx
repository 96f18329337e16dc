import { useEffect, useState } from "preact/hooks";
import type { Group, Page } from "../api/types";
import { Link } from "../components/link";
import { ErrorBox } from "../components/problem";
import { useApp } from "../context";
import { formatTime } from "../format";
import { navigate } from "../router";

/** All groups, and a form to create one. */
export function GroupList() {
  const { api } = useApp();
  const [groups, setGroups] = useState<Group[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const [createError, setCreateError] = useState<unknown>();

  const load = async (after?: string) => {
    try {
      const page = await api.get<Page<Group>>("/api/v1/groups", { limit: 100, cursor: after });
      setGroups((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [api]);

  const create = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setCreateError(undefined);
    try {
      const group = await api.request<Group>("POST", "/api/v1/groups", {
        name: String(form.get("name") ?? "").trim(),
        description: String(form.get("description") ?? "").trim(),
      });
      navigate(`/groups/${group.id}`);
    } catch (e) {
      setCreateError(e);
    }
  };

  return (
    <section aria-labelledby="groups-title">
      <div class="page-head">
        <h1 id="groups-title">Groups</h1>
      </div>
      <form class="card inline-form" onSubmit={create} aria-label="Create a group">
        <div>
          <label for="group-name">New group</label>
          <input id="group-name" name="name" required maxLength={255} placeholder="name" />
        </div>
        <div>
          <label for="group-description">Description</label>
          <input id="group-description" name="description" maxLength={2048} />
        </div>
        <button type="submit" class="primary">
          Create
        </button>
        <ErrorBox error={createError} />
      </form>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table class="responsive">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.id}>
                <td data-label="Name">
                  <Link href={`/groups/${g.id}`}>{g.name}</Link>
                </td>
                <td data-label="Description">{g.description || "–"}</td>
                <td data-label="Created">{formatTime(g.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {groups.length === 0 && !error && <p class="empty">No groups yet.</p>}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
