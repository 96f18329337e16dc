import { useCallback, useMemo, useState } from "preact/hooks";
import { Api } from "./api/client";
import { Link } from "./components/link";
import { AppContext } from "./context";
import { DeviceList } from "./pages/device-list";
import { DevicePage } from "./pages/device-page";
import { GroupList } from "./pages/group-list";
import { GroupPage } from "./pages/group-page";
import { SignIn } from "./pages/sign-in";
import { type Route, useRoute } from "./router";
import { session, TOKEN_REFUSED } from "./session";

/** Signed in: the shell (header, navigation) around the current page. Otherwise the sign-in form. */
export function App() {
  const [token, setToken] = useState(session.load());
  const [notice, setNotice] = useState<string | undefined>();
  const route = useRoute();

  const signOut = useCallback((message?: string) => {
    session.clear();
    setNotice(message);
    setToken(null);
  }, []);
  const api = useMemo(() => (token ? new Api(token, () => signOut(TOKEN_REFUSED)) : null), [token, signOut]);
  const context = useMemo(() => (api ? { api, signOut } : null), [api, signOut]);

  if (!context) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(value) => {
          session.save(value);
          setNotice(undefined);
          setToken(value);
        }}
      />
    );
  }
  return (
    <AppContext.Provider value={context}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          cloudedge
        </Link>
        <nav aria-label="Main">
          <Link href="/" current={route.page === "devices" || route.page === "device"}>
            Devices
          </Link>
          <Link href="/groups" current={route.page === "groups" || route.page === "group"}>
            Groups
          </Link>
        </nav>
        <button type="button" class="link-button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </AppContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "devices":
      return <DeviceList />;
    case "device":
      return <DevicePage key={route.id} id={route.id} />;
    case "groups":
      return <GroupList />;
    case "group":
      return <GroupPage key={route.id} id={route.id} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page here. <Link href="/">Go to the devices</Link>.
          </p>
        </section>
      );
  }
}
