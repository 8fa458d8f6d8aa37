// Builds the console into dist/, which the osprey binary embeds (see README.md). Asset names
// carry content hashes, so the server can let browsers cache them for good.
import { defineConfig } from 'vite';

export default defineConfig({
    base: '/',
    build: {
        outDir: 'dist',
        emptyOutDir: true,
        target: 'es2022',
        sourcemap: false,
        chunkSizeWarningLimit: 400,
        assetsInlineLimit: 0,
    },
    // `npx vite` (development) proxies the APIs to a local osprey: OSPREY_API, else its default address.
    server: {
        proxy: Object.fromEntries(['/api', '/loki', '/metrics', '/readyz'].map((p) => [p, { target: process.env.OSPREY_API ?? 'http://127.0.0.1:8080', ws: p === '/loki' }])),
    },
});
