// Runs `prisma generate` on install. The Prisma CLI insists on locating its schema engine even though
// generating never uses it, and that engine is a download this project cannot rely on (offline CI,
// locked-down networks). Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file satisfies the check.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
const cli = new URL('../node_modules/prisma/build/index.js', import.meta.url);
const result = spawnSync(process.execPath, [cli.pathname, 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
