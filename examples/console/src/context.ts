import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "./api/client";

export interface ConsoleContext {
  api: Api;
  signOut: (message?: string) => void;
}

export const AppContext = createContext<ConsoleContext | null>(null);

export function useApp(): ConsoleContext {
  const value = useContext(AppContext);
  if (!value) throw new Error("useApp outside AppContext");
  return value;
}
