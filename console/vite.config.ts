import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies /api to the local stack's API, as the console's own server and CloudFront do.
export default defineConfig({
  plugins: [react()],
  base: "./",
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:9000", rewrite: (p) => p.replace(/^\/api/, "") },
    },
  },
  build: { chunkSizeWarningLimit: 2048 },
});
