import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Root } from "./App";
import { configureApi } from "./api/client";

await configureApi();
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
